import { timingSafeEqual, createHash } from 'node:crypto';
import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { AUTH_KIND, type AuthenticatedRequest, type AuthKind } from './auth.decorators';
import { Authenticator } from './authenticator.service';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Global HTTP guard: every route needs a user unless marked @Public, @ApiKeyAuth or @StreamAuth. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: Authenticator,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const kind =
      this.reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'user';
    if (kind === 'public') return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();

    if (kind === 'api-key') {
      const key = req.headers['x-api-key'];
      // Compare digests: constant time, and no length leak.
      if (
        typeof key === 'string' &&
        timingSafeEqual(digest(key), digest(this.config.auth.serviceApiKey))
      )
        return true;
      throw new UnauthorizedException('a valid X-Api-Key is required');
    }

    const ticket = kind === 'stream' ? req.query.ticket : undefined;
    let user = await this.auth.fromHeaders(req.headers);
    if (typeof ticket === 'string') {
      // Spent on presentation whatever else the request carries.
      const fromTicket = await this.auth.fromTicket(ticket);
      user ??= fromTicket;
    }
    if (user === null) throw new UnauthorizedException('a valid access token is required');
    req.user = user;
    return true;
  }
}
