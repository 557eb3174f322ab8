import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import type { AppConfig } from '../config/config.schema';

/** The cookie that pins a Socket.IO session to its instance behind a load balancer. */
export const STICKY_COOKIE = 'rt_node';

/** Socket.IO frames (and polling bodies) above this close that client's connection. */
export const MAX_SOCKET_FRAME_BYTES = 64 * 1024;

export function originAllowed(origin: string | undefined, allowed: string[]): boolean {
  // Non-browser clients send no Origin; with no list configured, every origin is accepted.
  if (origin === undefined || allowed.length === 0 || allowed.includes('*')) return true;
  return allowed.includes(origin);
}

/**
 * Socket.IO with the service's settings. CORS headers alone do not stop a WebSocket upgrade,
 * so `allowRequest` refuses handshakes (polling and WebSocket) from origins outside CORS_ORIGINS.
 */
export class ConfiguredIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
    private readonly isDraining: () => boolean = () => false,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const allowed = this.config.corsOrigins;
    const settings: Partial<ServerOptions> = {
      ...options,
      path: '/socket.io',
      maxHttpBufferSize: MAX_SOCKET_FRAME_BYTES,
      pingInterval: 20_000,
      pingTimeout: 20_000,
      connectTimeout: 10_000,
      cors:
        allowed.length > 0
          ? { origin: allowed.includes('*') ? true : allowed, credentials: true }
          : undefined,
      allowRequest: (
        req: IncomingMessage,
        callback: (err: string | null | undefined, success: boolean) => void,
      ) => {
        // A draining instance takes no new sessions. Refusing at the transport (not in a
        // Socket.IO middleware) keeps the client's automatic reconnection going, to another instance.
        if (this.isDraining()) return callback('shutting down', false);
        const ok = originAllowed(req.headers.origin, allowed);
        callback(ok ? null : 'origin not allowed', ok);
      },
    };
    const server: Server = super.createIOServer(port, settings as ServerOptions);
    // Names this instance on the handshake, so a load balancer can keep the session's later
    // polling requests here (deploy/nginx.conf routes on this cookie).
    const cookie = `${STICKY_COOKIE}=${this.config.instanceId}; Path=/socket.io/; HttpOnly; SameSite=Lax`;
    server.engine.on('initial_headers', (headers: Record<string, string | string[]>) => {
      headers['Set-Cookie'] = cookie;
    });
    return server;
  }

  /**
   * Not bound: Nest's hook keeps a `once` wrapper and two closures over the socket for each
   * socket's life, to call `handleDisconnect`. The gateway listens for `disconnect` itself, with
   * one function for every socket (releaseOnDisconnect), so no gateway may rely on
   * `OnGatewayDisconnect`.
   */
  override bindClientDisconnect(): void {}

  /**
   * One plain listener per event instead of Nest's per-socket RxJS pipeline (fromEvent, mergeMap,
   * takeUntil and their subscribers for every handler of every socket): that pipeline was about
   * 30 KiB of closures per idle socket, three quarters of our heap per connection, and a large
   * live heap makes every garbage collection, and so every broadcast, slower. The semantics are
   * Nest's: the handler's result (value, promise or observable) goes through Nest's `transform`,
   * `{event, data}` results are emitted, others answer the acknowledgement, nothing for nil.
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(String(message), (...args: unknown[]) => {
        // As rxjs' fromEvent delivers them: one argument as itself, several as an array.
        const mapped = this.mapPayload(args.length === 1 ? args[0] : args) as {
          data: unknown;
          ack?: unknown;
        };
        const { data, ack } = mapped;
        let response$: Observable<unknown>;
        try {
          response$ = transform(callback(data, ack));
        } catch (err) {
          this.logger.error(err);
          return;
        }
        response$.subscribe({
          next: (response) => {
            if (response === undefined || response === null) return;
            const event = (response as { event?: unknown }).event;
            if (typeof event === 'string' && event !== '') {
              socket.emit(event, (response as { data?: unknown }).data);
            } else if (isAckHandledManually !== true && typeof ack === 'function') {
              (ack as (r: unknown) => void)(response);
            }
          },
          error: (err: unknown) => this.logger.error(err),
        });
      });
    }
  }
}
