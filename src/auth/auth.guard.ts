import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { ApiKeyMatcher } from './api-keys';
import { AUTH_KIND, type AuthenticatedRequest, type AuthKind } from './auth.decorators';
import { Authenticator } from './authenticator.service';

/** Global HTTP guard: every route needs a user unless marked @Public, @ApiKeyAuth or @StreamAuth. */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly apiKeys: ApiKeyMatcher;

  constructor(
    private readonly reflector: Reflector,
    private readonly auth: Authenticator,
    @InjectConfig() config: AppConfig,
  ) {
    this.apiKeys = new ApiKeyMatcher(config.auth.serviceApiKeys);
  }

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
      if (this.apiKeys.matches(req.headers['x-api-key'])) return true;
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
