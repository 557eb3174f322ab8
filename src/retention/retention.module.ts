import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { RetentionJob } from './retention.job';
import { RetentionRepository } from './retention.repository';

@Module({
  imports: [JobsModule],
  providers: [RetentionRepository, RetentionJob],
  exports: [RetentionJob],
})
export class RetentionModule {}
