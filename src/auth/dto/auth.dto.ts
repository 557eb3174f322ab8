import { ApiProperty } from '@nestjs/swagger';
import { UserResponse } from '../../users/dto/users.dto';
import { USERNAME_PATTERN } from '../../users/profile-rules';
import { IsOptional, IsString, Length, Matches, MaxLength, MinLength } from 'class-validator';
import { Transform } from 'class-transformer';

const trim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;

export class RegisterDto {
  // The Swagger plugin reads only a literal regex, so the shared one is named for it here.
  @ApiProperty({ pattern: USERNAME_PATTERN.source })
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3-32 characters of a-z, 0-9 and _' })
  username!: string;

  @IsString()
  @Length(8, 128)
  password!: string;

  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 64)
  displayName?: string;
}

export class LoginDto {
  @IsString()
  @MinLength(1)
  @MaxLength(32)
  username!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password!: string;
}

export class AuthResponse {
  user!: UserResponse;
  /** A JWT; also set as the HttpOnly `access_token` cookie. */
  accessToken!: string;
}

export class StreamTicketResponse {
  /** Opaque, single use: `?ticket=` on one stream (`…/stream`, `…/wait`) opened before expiresAt. */
  ticket!: string;
  expiresAt!: string;
}
