import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { AdminJobsController } from './admin-jobs.controller';
import { JobRunsService } from './job-runs.service';
import { WeightReminderScheduler } from './weight-reminder.scheduler';
import { WeightReminderService } from './weight-reminder.service';

@Module({
  imports: [NotificationsModule],
  controllers: [AdminJobsController],
  providers: [JobRunsService, WeightReminderService, WeightReminderScheduler],
})
export class RemindersModule {}
