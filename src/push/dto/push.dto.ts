import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsString, Length, Matches, ValidateNested } from 'class-validator';
import type {
  NotificationPreferences,
  PushSubscriptionView,
  VapidPublicKey,
} from '../../contracts';

/** base64url without padding, as PushSubscription.toJSON() writes the keys. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export class PushKeysDto {
  /** The browser's ECDH P-256 public key: 65 bytes, 87 base64url characters. */
  @IsString()
  @Length(87, 87)
  @Matches(BASE64URL, { message: 'keys.p256dh must be base64url' })
  p256dh!: string;

  /** The 16-byte authentication secret: 22 base64url characters. */
  @IsString()
  @Length(22, 22)
  @Matches(BASE64URL, { message: 'keys.auth must be base64url' })
  auth!: string;
}

/** PushSubscription.toJSON() as a browser gives it (expirationTime is ignored). */
export class CreatePushSubscriptionDto {
  @IsString()
  @Length(1, 2048)
  endpoint!: string;

  @ValidateNested()
  @Type(() => PushKeysDto)
  keys!: PushKeysDto;
}

export class VapidPublicKeyResponse implements VapidPublicKey {
  publicKey!: string;
}

export class PushSubscriptionCreatedResponse {
  id!: string;
}

export class PushSubscriptionResponse implements PushSubscriptionView {
  id!: string;
  endpoint!: string;
  createdAt!: string;
}

export class PushSubscriptionListResponse {
  items!: PushSubscriptionResponse[];
}

export class NotificationPreferencesDto implements NotificationPreferences {
  /** Kind -> pushed; kinds not listed are pushed. A PUT replaces the whole map. */
  @IsObject()
  @ApiProperty({ type: 'object', additionalProperties: { type: 'boolean' } })
  push!: Record<string, boolean>;
}
