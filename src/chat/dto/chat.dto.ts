import { ApiProperty } from '@nestjs/swagger';
import type { HistoryPage } from '../chat.service';
import type { MessageView, RoomKind, RoomMember, RoomView } from '../chat.views';
import type { Page } from '../../common/page-cursor';
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

// Responses: the views as classes, so OpenAPI describes them.

export class RoomResponse implements RoomView {
  id!: string;
  name!: string;
  @ApiProperty({ enum: ['group', 'direct'] })
  kind!: RoomKind;
  /** The first 100 members by join order; `memberCount` is the total. */
  memberIds!: string[];
  memberCount!: number;
  /** The seq of the room's latest message; 0 before the first. */
  lastSeq!: number;
  createdAt!: string;
}

export class RoomListItemResponse extends RoomResponse {
  /** Messages from others after the caller's read position. */
  unreadCount!: number;
}

export class RoomPageResponse implements Page<RoomListItemResponse> {
  /** Newest activity first. */
  items!: RoomListItemResponse[];
  /** Opaque: `?cursor=` fetches the next page; null on the last. */
  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class RoomMemberResponse implements RoomMember {
  userId!: string;
  joinedAt!: string;
  username!: string;
  displayName!: string;
}

export class RoomMemberPageResponse implements Page<RoomMemberResponse> {
  /** In join order. */
  items!: RoomMemberResponse[];
  /** Opaque: `?cursor=` fetches the next page; null on the last. */
  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class MessageResponse implements MessageView {
  id!: string;
  roomId!: string;
  /** Per room, from 1, without gaps. */
  seq!: number;
  /** null: a system message, posted through the server API. */
  @ApiProperty({ type: String, nullable: true })
  senderId!: string | null;
  body!: string;
  @ApiProperty({ type: String, nullable: true })
  clientMsgId!: string | null;
  createdAt!: string;
}

export class HistoryPageResponse implements HistoryPage {
  /** Ascending by seq. */
  items!: MessageResponse[];
  /** More exist in the direction paged. */
  hasMore!: boolean;
}
