import { Injectable } from '@nestjs/common';
import { ExternalUsersService } from '../users/external-users.service';
import type { AuthUser } from './auth-user';
import { OutsideTokens } from './outside-tokens.service';
import { SessionsService } from './sessions.service';
import { StreamTicketsService } from './stream-tickets.service';
import { extractToken, type CredentialSource } from './token-extractor';
import { TokenService } from './token.service';

/**
 * Turns credentials into an AuthUser. HTTP guards, the Socket.IO handshake and the streaming
 * endpoints all come through here, so the rules are the same everywhere.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: SessionsService,
    private readonly tickets: StreamTicketsService,
    private readonly outside: OutsideTokens,
    private readonly externalUsers: ExternalUsersService,
  ) {}

  async fromToken(token: string): Promise<AuthUser | null> {
    if (this.outside.isFor(token)) return this.fromOutsideToken(token);
    const user = await this.tokens.verify(token);
    if (user === null) return null;
    if (user.sessionId !== null && !(await this.sessions.isActive(user.sessionId, user.userId)))
      return null;
    return user;
  }

  async fromHeaders(headers: CredentialSource, explicitToken?: unknown): Promise<AuthUser | null> {
    const token = extractToken(headers, explicitToken);
    return token === null ? null : this.fromToken(token);
  }

  /** True while the login behind an authenticated connection is still active (cached briefly). */
  stillActive(user: AuthUser): Promise<boolean> {
    return user.sessionId === null
      ? Promise.resolve(user.expiresAt > Date.now() / 1000)
      : this.sessions.isActive(user.sessionId, user.userId);
  }

  /** A stream ticket stands in for the token of the login that asked for it. */
  async fromTicket(ticket: string): Promise<AuthUser | null> {
    const redeemed = await this.tickets.redeem(ticket);
    if (redeemed === null) return null;
    const { userId, sessionId } = redeemed;
    if (sessionId === null) {
      // A token with no session here (an outside one): the stream lasts as long as that token.
      const expiresAt = redeemed.tokenExpiresAt;
      return expiresAt !== null && expiresAt > Date.now() / 1000
        ? { userId, sessionId, expiresAt }
        : null;
    }
    // The stream lives as long as the login that issued the ticket, and ends with it.
    const expiresAt = await this.sessions.activeUntil(sessionId, userId);
    return expiresAt === null ? null : { userId, sessionId, expiresAt };
  }

  /** An outside token's subject, as the local user standing for it (created on first sight). */
  private async fromOutsideToken(token: string): Promise<AuthUser | null> {
    const claims = await this.outside.verify(token);
    if (claims === null) return null;
    const userId = await this.externalUsers.userIdFor(claims);
    return { userId, sessionId: null, expiresAt: claims.expiresAt };
  }
}
