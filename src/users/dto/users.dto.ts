import { ApiProperty } from '@nestjs/swagger';
import type { UserView } from '../user.views';
import { OptionalIntParam } from '../../common/int-param.decorator';
import {
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';

export class SetGoalDto {
  /** 20-400 kg; null clears the goal (and stops the weekly reminder). */
  @ValidateIf((_o, v) => v !== null)
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(20)
  @Max(400)
  goalWeightKg!: number | null;
}

export class AddWeightDto {
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(20)
  @Max(400)
  weightKg!: number;

  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  measuredAt?: string;
}

export class ListWeightsQuery {
  @OptionalIntParam(1, 200)
  limit: number = 30;
}

export class LookupUserQuery {
  @IsString()
  @Matches(/^[a-z0-9_]{1,32}$/, { message: 'username must be 1-32 characters of a-z, 0-9 and _' })
  username!: string;
}

// Responses: the views as classes, so OpenAPI describes them.

export class UserResponse implements UserView {
  id!: string;
  username!: string;
  displayName!: string;
  /** kg; null until a goal is set. */
  @ApiProperty({ type: Number, nullable: true })
  goalWeightKg!: number | null;
  createdAt!: string;
  /** The outside identity provider's `sub` this user stands for; null for users registered here. */
  @ApiProperty({ type: String, nullable: true, maxLength: 255 })
  externalId!: string | null;
}

/** Another user, as a lookup finds them. */
export class UserSummaryResponse implements Pick<UserView, 'id' | 'username' | 'displayName'> {
  id!: string;
  username!: string;
  displayName!: string;
}

export class WeightResponse {
  id!: string;
  weightKg!: number;
  measuredAt!: string;
}

export class WeightListResponse {
  /** Newest first (by measuredAt). */
  items!: WeightResponse[];
}
