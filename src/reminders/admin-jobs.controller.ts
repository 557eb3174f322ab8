import { ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { BadRequestException, Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiKeyAuth } from '../auth/auth.decorators';
import { JobRunListResponse, ReminderRunResponse, RunReminderDto } from './dto/run-reminder.dto';
import { JobRunsRepository } from '../jobs/job-runs.repository';
import { WeightReminderScheduler } from './weight-reminder.scheduler';

@ApiKeyAuth()
@ApiTags('admin')
@ApiSecurity('api-key')
@Controller('api/admin/jobs')
export class AdminJobsController {
  constructor(
    private readonly scheduler: WeightReminderScheduler,
    private readonly runs: JobRunsRepository,
  ) {}

  @Post('weight-reminder/run')
  @HttpCode(200)
  @ApiOkResponse({ type: ReminderRunResponse })
  async runWeightReminder(@Body() dto: RunReminderDto): Promise<ReminderRunResponse> {
    const asOf = dto.asOf === undefined ? new Date() : new Date(dto.asOf);
    if (
      Number.isNaN(asOf.getTime()) ||
      asOf.getUTCFullYear() < 1970 ||
      asOf.getUTCFullYear() > 9999
    ) {
      throw new BadRequestException('asOf must be an ISO-8601 time');
    }
    const { periodKey, usersNotified, skipped } = await this.scheduler.runManually(asOf);
    return { periodKey, usersNotified, skipped };
  }

  @Get('runs')
  @ApiOkResponse({ type: JobRunListResponse })
  async listRuns(): Promise<JobRunListResponse> {
    return { items: await this.runs.list(50) };
  }
}
