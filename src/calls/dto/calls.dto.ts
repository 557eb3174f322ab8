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
import type { CallView, IceServer, IceServersView } from '../../contracts';

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

// Responses (classes, so the OpenAPI plugin sees their fields)

export class CallResponse implements CallView {
  id!: string;
  roomId!: string;
  startedBy!: string;
  /** While live: the users in the call now; once ended: everyone who joined it. */
  participants!: string[];
  createdAt!: string;
  endedAt!: string | null;
}

export class CallListResponse {
  /** Newest first. */
  items!: CallResponse[];
}

export class IceServerResponse implements IceServer {
  urls!: string[];
  /** TURN only: `<unix expiry>:<userId>`. */
  username?: string;
  /** TURN only: base64(HMAC-SHA1(TURN_SECRET, username)). */
  credential?: string;
}

export class IceServersResponse implements IceServersView {
  iceServers!: IceServerResponse[];
  /** How long the TURN credentials stay valid. */
  ttlSeconds!: number;
}
