import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { AdminJobsController } from './admin-jobs.controller';
import { JobRunsService } from './job-runs.service';
import { WeightReminderScheduler } from './weight-reminder.scheduler';
import { WeightReminderRepository } from './weight-reminder.repository';
import { WeightReminderService } from './weight-reminder.service';

@Module({
  imports: [NotificationsModule],
  controllers: [AdminJobsController],
  providers: [
    JobRunsService,
    WeightReminderRepository,
    WeightReminderService,
    WeightReminderScheduler,
  ],
})
export class RemindersModule {}
