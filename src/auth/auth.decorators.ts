import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from './auth-user';

export type AuthKind = 'user' | 'public' | 'api-key' | 'stream';
export const AUTH_KIND = 'auth:kind';

/** No credentials needed. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(AUTH_KIND, 'public');
/** Service-to-service and admin calls: `X-Api-Key` only; a user token is not enough. */
export const ApiKeyAuth = (): MethodDecorator & ClassDecorator => SetMetadata(AUTH_KIND, 'api-key');
/** A user stream: token or cookie as usual, or a single-use `?ticket=` for EventSource. */
export const StreamAuth = (): MethodDecorator & ClassDecorator => SetMetadata(AUTH_KIND, 'stream');

export interface AuthenticatedRequest extends Request {
  user?: AuthUser;
}

/** The authenticated user of the request (set by AuthGuard). */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => {
  const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
  if (req.user === undefined) throw new Error('CurrentUser used on a route without user auth');
  return req.user;
});
