import { ApiProperty } from '@nestjs/swagger';
import type { NotificationView } from '../notification.views';
import {
  ArrayMaxSize,
  IsArray,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
} from 'class-validator';
import { CursorParam } from '../../common/cursor.decorator';
import { OptionalIntParam } from '../../common/int-param.decorator';
import { NOTIFICATION_KIND, NOTIFICATION_KIND_RULE } from '../notification-kind';

export class PollQuery {
  @IsOptional()
  @CursorParam()
  after: number = 0;

  @OptionalIntParam(1, 200)
  limit: number = 50;
}

export class WaitQuery {
  @IsOptional()
  @CursorParam()
  after: number = 0;

  /** Seconds. */
  @OptionalIntParam(1, 60)
  timeout: number = 25;

  @IsOptional()
  @IsString()
  ticket?: string;
}

export class StreamQuery {
  /** Parsed by parseCursor: Last-Event-ID wins over it. */
  @IsOptional()
  @IsString()
  after?: string;

  @IsOptional()
  @IsString()
  ticket?: string;
}

/** Recipients by local id, by the team's own (external) id, or both: 1-10,000 in all. */
export class PublishNotificationDto {
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10000)
  @IsUUID('all', { each: true })
  userIds?: string[];

  /** Users known by the `sub` of the team's identity provider (unknown ones count as unknown). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10000)
  @IsString({ each: true })
  @Length(1, 255, { each: true })
  externalIds?: string[];

  @IsString()
  @Matches(NOTIFICATION_KIND, { message: `kind must be ${NOTIFICATION_KIND_RULE}` })
  kind!: string;

  @IsString()
  @Length(1, 200)
  title!: string;

  @IsString()
  @Length(0, 2000)
  body!: string;

  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  dedupeKey?: string;
}

// Responses: the views as classes, so OpenAPI describes them.

export class NotificationResponse implements NotificationView {
  id!: string;
  /** Per user, from 1, without gaps; the same on every transport. */
  seq!: number;
  /** weight_reminder, price_alert, system, or what a publisher named. */
  kind!: string;
  title!: string;
  body!: string;
  @ApiProperty({ type: 'object', additionalProperties: true })
  data!: Record<string, unknown>;
  createdAt!: string;
  @ApiProperty({ type: String, nullable: true })
  readAt!: string | null;
}

export class NotificationPageResponse {
  /** Ascending by seq. */
  items!: NotificationResponse[];
  /** The seq of the last item returned, or `after` when none. */
  lastSeq!: number;
}

export class UnreadCountResponse {
  count!: number;
}

export class PublishResultResponse {
  created!: number;
  /** Recipients that already had a notification with this dedupeKey. */
  duplicates!: number;
  /** User ids that do not exist (skipped). */
  unknown!: number;
}
