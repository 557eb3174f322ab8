import { CursorParam } from '../../common/cursor.decorator';
import { OptionalIntParam } from '../../common/int-param.decorator';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

/** Largest seq a client may name; far beyond any room, small enough for a double. */
export const MAX_SEQ = 2 ** 53 - 1;

export class CreateRoomDto {
  @IsString()
  @Length(1, 100)
  name!: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  memberIds?: string[];
}

export class DirectRoomDto {
  @IsUUID('all')
  userId!: string;
}

export class AddMemberDto {
  @IsUUID('all')
  userId!: string;
}

/** Longest body accepted before trimming (the service then checks 1-4000 code points). */
export const MAX_SEND_BODY_CHARS = 64 * 1024;

export class SendMessageDto {
  // Length in code points is checked by the service, after trimming.
  @IsString()
  @MaxLength(MAX_SEND_BODY_CHARS)
  body!: string;

  @IsOptional()
  @IsString()
  @Length(1, 64)
  clientMsgId?: string;
}

export class ReadDto {
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  seq!: number;
}

export class HistoryQuery {
  @IsOptional()
  @CursorParam()
  afterSeq?: number;

  @IsOptional()
  @CursorParam(1)
  beforeSeq?: number;

  @OptionalIntParam(1, 200)
  limit: number = 50;
}

/** `?limit=&cursor=` of the paged room and member lists. */
export class PageQuery {
  @OptionalIntParam(1, 200)
  limit: number = 100;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

// Socket payloads

export class RoomRefDto {
  @IsUUID('all')
  roomId!: string;
}

export class SocketSendDto extends SendMessageDto {
  @IsUUID('all')
  roomId!: string;
}

export class SyncDto {
  @IsUUID('all')
  roomId!: string;

  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  afterSeq!: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

export class TypingDto {
  @IsUUID('all')
  roomId!: string;

  @IsBoolean()
  isTyping!: boolean;
}

export class SocketReadDto extends ReadDto {
  @IsUUID('all')
  roomId!: string;
}
