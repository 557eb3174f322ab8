import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectConfig, type AppConfig } from '../config/app.config';
import type { AuthUser } from './auth-user';

interface AccessClaims {
  sub?: unknown;
  sid?: unknown;
  exp?: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Issues and verifies access tokens. Only HS256 (ours) and, if configured, RS256 are accepted. */
@Injectable()
export class TokenService {
  constructor(
    private readonly jwt: JwtService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  ttlMs(): number {
    return this.config.auth.tokenTtlSeconds * 1000;
  }

  async issue(userId: string, sessionId: string): Promise<{ token: string; expiresAt: Date }> {
    const ttl = this.config.auth.tokenTtlSeconds;
    const token = await this.jwt.signAsync(
      { sub: userId, sid: sessionId },
      { algorithm: 'HS256', expiresIn: ttl },
    );
    return { token, expiresAt: new Date(Date.now() + ttl * 1000) };
  }

  /** The token's claims if its signature and expiry hold; null otherwise (never throws). */
  async verify(token: string): Promise<AuthUser | null> {
    if (token.length > 4096) return null;
    const header = this.jwt.decode<{ header?: { alg?: unknown } } | null>(token, {
      complete: true,
    });
    const alg = header?.header?.alg;
    try {
      let claims: AccessClaims;
      if (alg === 'HS256') {
        claims = await this.jwt.verifyAsync<AccessClaims>(token, { algorithms: ['HS256'] });
      } else if (alg === 'RS256' && this.config.auth.jwtPublicKey !== undefined) {
        claims = await this.jwt.verifyAsync<AccessClaims>(token, { algorithms: ['RS256'] });
      } else {
        return null; // alg "none", unknown or unconfigured algorithms
      }
      if (typeof claims.sub !== 'string' || !UUID.test(claims.sub)) return null;
      if (typeof claims.exp !== 'number') return null;
      const sessionId = alg === 'HS256' ? claims.sid : null;
      if (alg === 'HS256' && (typeof sessionId !== 'string' || !UUID.test(sessionId))) return null;
      return { userId: claims.sub, sessionId: sessionId as string | null, expiresAt: claims.exp };
    } catch {
      return null;
    }
  }
}
