import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { OptionalIntParam } from '../../common/int-param.decorator';

/** Largest SDP relayed, in bytes (checked in bytes by the service; here in characters). */
export const MAX_SDP_BYTES = 16 * 1024;
/** Largest ICE candidate relayed, in bytes of its JSON. */
export const MAX_CANDIDATE_BYTES = 2 * 1024;

export class CallRefDto {
  @IsUUID('all')
  callId!: string;
}

export class CandidateDto {
  @IsString()
  @MaxLength(MAX_CANDIDATE_BYTES)
  candidate!: string;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  sdpMid?: string | null;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65535)
  sdpMLineIndex?: number | null;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  usernameFragment?: string | null;
}

export class SignalDto {
  @IsUUID('all')
  callId!: string;

  @IsUUID('all')
  to!: string;

  @IsIn(['offer', 'answer', 'candidate'])
  type!: 'offer' | 'answer' | 'candidate';

  @IsOptional()
  @IsString()
  @MaxLength(MAX_SDP_BYTES)
  sdp?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => CandidateDto)
  candidate?: CandidateDto;
}

export class CallsQuery {
  @OptionalIntParam(1, 100)
  limit: number = 20;
}
