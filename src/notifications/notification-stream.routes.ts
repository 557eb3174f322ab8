import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpException, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user';
import { errorText } from '../common/background';
import { Authenticator } from '../auth/authenticator.service';
import { parseCursor } from '../common/cursor';
import { retryAfterOf, toErrorBody } from '../common/http-exception.filter';
import { findUnsafeText } from '../common/safe-text';
import type { StreamFraming } from '../realtime/stream-framing';
import { StreamRoutes } from '../realtime/stream-routes';
import { NotificationStreams } from './notification-streams.service';

/**
 * The notification streams' routes before Express (see StreamRoutes). A request is taken when
 * its query is valid as it stands (at most one `after` and one `ticket`, nothing else) and it
 * authenticates the way the controller's guard does: the bearer token, or a single-use ticket,
 * spent on presentation. Before authentication everything is left to Express; after it, a
 * spent ticket cannot be presented twice, so a refusal from here on (too many connections) is
 * answered here, in the same error shape.
 */
@Injectable()
export class NotificationStreamRoutes {
  private readonly logger = new Logger('NotificationStreams');

  constructor(
    private readonly auth: Authenticator,
    private readonly streams: NotificationStreams,
    routes: StreamRoutes,
  ) {
    routes.registerFeed('/api/notifications', (framing, ...request) =>
      this.take(framing, ...request),
    );
  }

  private async take(
    framing: StreamFraming,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
    head: readonly string[],
  ): Promise<boolean> {
    // StreamRoutes hands over each parameter once (a repeated one is left to Express).
    for (const key of query.keys()) if (key !== 'after' && key !== 'ticket') return false;
    if (findUnsafeText([...query.values()]) !== null) return false;
    // Last-Event-ID (a reconnecting EventSource) wins over ?after, on SSE only.
    const lastEventId = framing.transport === 'sse' ? req.headers['last-event-id'] : undefined;
    const cursor = parseCursor(
      typeof lastEventId === 'string' && lastEventId !== ''
        ? lastEventId
        : (query.get('after') ?? undefined),
    );
    if (cursor === 'invalid' || Array.isArray(lastEventId)) return false;
    let user = await this.auth.fromHeaders(req.headers);
    const ticket = query.get('ticket') ?? undefined;
    // Nothing spent so far: a refusal or a failure is Express's to answer (its guard says so).
    if (ticket === undefined) {
      if (user === null) return false;
      await this.serve(user, cursor, framing, req, res, head);
      return true;
    }
    // A ticket is spent on presentation, whatever else the request carries (as the guard does),
    // and cannot be presented twice: from here on every answer is given here.
    try {
      const fromTicket = await this.auth.fromTicket(ticket);
      user ??= fromTicket;
      if (user === null) throw new UnauthorizedException('a valid access token is required');
      await this.serve(user, cursor, framing, req, res, head);
    } catch (err) {
      this.answerError(err, res, head);
    }
    return true;
  }

  /** Opens the stream; a refusal before it opens (too many connections) is answered here. */
  private async serve(
    user: AuthUser,
    cursor: number | null,
    framing: StreamFraming,
    req: IncomingMessage,
    res: ServerResponse,
    head: readonly string[],
  ): Promise<void> {
    try {
      await this.streams.stream(user, cursor, framing, req, res, head);
    } catch (err) {
      if (!(err instanceof HttpException)) throw err;
      this.answerError(err, res, head);
    }
  }

  /** An error in the shape and with the status the exception filter gives it. */
  private answerError(err: unknown, res: ServerResponse, head: readonly string[]): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const body = toErrorBody(err);
    if (body.statusCode >= 500) this.logger.warn(`notification stream: ${errorText(err)}`);
    const retryAfter = retryAfterOf(err, body.statusCode);
    res.writeHead(body.statusCode, [
      'Content-Type',
      'application/json; charset=utf-8',
      ...(retryAfter !== undefined ? ['Retry-After', retryAfter] : []),
      ...head,
    ]);
    res.end(JSON.stringify(body));
  }
}
