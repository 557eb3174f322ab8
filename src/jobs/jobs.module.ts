import { Module } from '@nestjs/common';
import { JobRunsRepository } from './job-runs.repository';

/** Claims of scheduled periods and the log of runs, for every scheduled job. */
@Module({ providers: [JobRunsRepository], exports: [JobRunsRepository] })
export class JobsModule {}
