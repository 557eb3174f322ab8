import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { AdminJobsController } from './admin-jobs.controller';
import { JobRunsRepository } from './job-runs.repository';
import { WeightReminderScheduler } from './weight-reminder.scheduler';
import { WeightReminderRepository } from './weight-reminder.repository';
import { WeightReminderService } from './weight-reminder.service';

@Module({
  imports: [NotificationsModule],
  controllers: [AdminJobsController],
  providers: [
    JobRunsRepository,
    WeightReminderRepository,
    WeightReminderService,
    WeightReminderScheduler,
  ],
})
export class RemindersModule {}
