import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  NotFoundException,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import {
  AddWeightDto,
  ListWeightsQuery,
  LookupUserQuery,
  SetGoalDto,
  UserResponse,
  UserSummaryResponse,
  WeightListResponse,
  WeightResponse,
} from './dto/users.dto';
import { UsersService } from './users.service';

/** Small clock differences between a phone and the server are not "the future". */
const FUTURE_TOLERANCE_MS = 5_000;

@ApiTags('me')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOkResponse({ type: UserResponse })
  async me(@CurrentUser() user: AuthUser): Promise<UserResponse> {
    return this.users.get(user.userId);
  }

  @Put('me/goal')
  @ApiOkResponse({ type: UserResponse })
  async setGoal(@CurrentUser() user: AuthUser, @Body() dto: SetGoalDto): Promise<UserResponse> {
    return this.users.setGoal(user.userId, dto.goalWeightKg);
  }

  @Post('me/weights')
  @ApiCreatedResponse({ type: WeightResponse })
  async addWeight(
    @CurrentUser() user: AuthUser,
    @Body() dto: AddWeightDto,
  ): Promise<WeightResponse> {
    const measuredAt = dto.measuredAt === undefined ? new Date() : new Date(dto.measuredAt);
    if (Number.isNaN(measuredAt.getTime()))
      throw new BadRequestException('measuredAt must be an ISO-8601 time');
    if (measuredAt.getTime() > Date.now() + FUTURE_TOLERANCE_MS) {
      throw new BadRequestException('measuredAt must not be in the future');
    }
    if (measuredAt.getUTCFullYear() < 1900)
      throw new BadRequestException('measuredAt is too far in the past');
    return this.users.addWeight(user.userId, dto.weightKg, measuredAt);
  }

  /** Finds a user by username (to open a direct room with them). */
  @Get('users/lookup')
  @ApiOkResponse({ type: UserSummaryResponse })
  async lookup(@Query() query: LookupUserQuery): Promise<UserSummaryResponse> {
    const user = await this.users.findByUsername(query.username);
    if (user === null) throw new NotFoundException('user not found');
    return { id: user.id, username: user.username, displayName: user.displayName };
  }

  @Get('me/weights')
  @ApiOkResponse({ type: WeightListResponse })
  async listWeights(
    @CurrentUser() user: AuthUser,
    @Query() query: ListWeightsQuery,
  ): Promise<WeightListResponse> {
    return { items: await this.users.listWeights(user.userId, query.limit) };
  }
}
