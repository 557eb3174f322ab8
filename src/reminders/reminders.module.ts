import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { AdminJobsController } from './admin-jobs.controller';
import { WeightReminderScheduler } from './weight-reminder.scheduler';
import { WeightReminderRepository } from './weight-reminder.repository';
import { WeightReminderService } from './weight-reminder.service';

@Module({
  imports: [NotificationsModule, JobsModule],
  controllers: [AdminJobsController],
  providers: [WeightReminderRepository, WeightReminderService, WeightReminderScheduler],
})
export class RemindersModule {}
