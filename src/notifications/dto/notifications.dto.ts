import {
  ArrayMaxSize,
  ArrayMinSize,
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

export class PublishNotificationDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10000)
  @IsUUID('all', { each: true })
  userIds!: string[];

  @IsString()
  @Matches(/^[a-z0-9_.-]{1,64}$/, { message: 'kind must be 1-64 characters of a-z, 0-9, _ . -' })
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
