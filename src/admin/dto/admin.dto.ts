import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { USERNAME_PATTERN } from '../../users/profile-rules';
import { MAX_SEND_BODY_CHARS } from '../../chat/dto/chat.dto';

export class AdminCreateRoomDto {
  @IsString()
  @Length(1, 100)
  name!: string;

  @IsArray()
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  memberIds!: string[];
}

export class AdminAddMembersDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  userIds!: string[];
}

export class AdminSendMessageDto {
  // Length in code points is checked by the service, after trimming.
  @IsString()
  @MaxLength(MAX_SEND_BODY_CHARS)
  body!: string;

  /** A member to post as; without it, a system message (`senderId: null`). */
  @IsOptional()
  @IsUUID('all')
  senderId?: string;

  @IsOptional()
  @IsString()
  @Length(1, 64)
  clientMsgId?: string;
}

export class AdminUpsertExternalUserDto {
  /** 3-32 of a-z, 0-9 and _; generated when absent for a new user. */
  @IsOptional()
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3-32 characters of a-z, 0-9 and _' })
  username?: string;

  @IsOptional()
  @IsString()
  @Length(1, 64)
  displayName?: string;
}

export class PresenceQuery {
  /** Comma-separated user ids, 1-1000. */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.split(',').filter((v) => v !== '') : value,
  )
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  userIds!: string[];
}

export class PresenceQueryDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  userIds!: string[];
}

export class PresenceItemResponse {
  userId!: string;
  /** A socket of the user is connected to some live instance. */
  online!: boolean;
}

export class PresenceResponse {
  items!: PresenceItemResponse[];
}
