import { createHmac } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectConfig, type AppConfig } from '../config/app.config';
import type { IceServer, IceServersView } from '../contracts';

/**
 * TURN REST credentials (the scheme coturn's `use-auth-secret` checks): the username is
 * `<unix expiry>:<userId>`, the password base64(HMAC-SHA1(secret, username)). The TURN server
 * needs no user list, and a leaked credential dies at its expiry.
 */
export function turnCredential(
  secret: string,
  userId: string,
  expiresAt: number,
): { username: string; credential: string } {
  const username = `${expiresAt}:${userId}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** The ICE servers a user's browser gets: STUN as configured, TURN with fresh credentials. */
@Injectable()
export class IceServers {
  constructor(@InjectConfig() private readonly config: AppConfig) {}

  forUser(userId: string, now = Date.now()): IceServersView {
    const { stunUrls, turnUrls, turnSecret, turnTtlSeconds } = this.config.calls;
    const iceServers: IceServer[] = [];
    if (stunUrls.length > 0) iceServers.push({ urls: stunUrls });
    if (turnUrls.length > 0 && turnSecret !== undefined) {
      const expiresAt = Math.floor(now / 1000) + turnTtlSeconds;
      iceServers.push({ urls: turnUrls, ...turnCredential(turnSecret, userId, expiresAt) });
    }
    return { iceServers, ttlSeconds: turnTtlSeconds };
  }
}
