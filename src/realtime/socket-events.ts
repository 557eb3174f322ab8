import type { Logger } from '@nestjs/common';
import { errorText } from '../common/background';
import type { Ack } from './ack';
import type { AppSocket } from './socket-data';

/** One socket event's handler: the payload in, the acknowledgement out. */
export type SocketEventHandler = (socket: AppSocket, payload: unknown) => Promise<Ack>;

/** Socket.IO calls an `onAny` listener with the socket as `this`. */
export type SocketEventDispatcher = (this: AppSocket, event: unknown, ...args: unknown[]) => void;

/**
 * The features' events, dispatched straight to their handlers. Nest's `@SubscribeMessage` path
 * runs, for every event, an execution context, the global guard and pipes (which have nothing to
 * do for a socket: handlers validate and map errors to acks themselves) and an RxJS pipeline:
 * about a fifth of what a chat message allocated on its sending instance, and the garbage
 * collections that allocation costs were the latency tail. The arguments are Socket.IO's as
 * Nest maps them: the first is the payload, a trailing function is the acknowledgement. An event
 * without one is still handled (a send is stored); its answer has nowhere to go. An event no
 * feature handles is ignored.
 *
 * One function for every socket (Socket.IO passes the socket as `this`), bound with `onAny`: a
 * listener per event per socket was a closure each, a dozen per idle socket, and the largest
 * thing an idle socket held beyond what bare Socket.IO holds.
 */
export function socketEventDispatcher(
  handlers: ReadonlyMap<string, SocketEventHandler>,
  logger: Logger,
): SocketEventDispatcher {
  return function dispatch(this: AppSocket, event: unknown, ...args: unknown[]): void {
    if (typeof event !== 'string') return;
    const handler = handlers.get(event);
    if (handler === undefined) return;
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (last as (answer: Ack) => void) : undefined;
    const payload = ack !== undefined && args.length === 1 ? undefined : args[0];
    handler(this, payload).then(
      (answer) => ack?.(answer),
      // Handlers turn every failure into an error ack; reaching here is a bug.
      (err: unknown) => logger.error(`${event}: ${errorText(err)}`),
    );
  };
}

/** Binds the dispatcher to a socket: one listener, the same for every socket. */
export function bindSocketEvents(socket: AppSocket, dispatcher: SocketEventDispatcher): void {
  // Socket.IO calls an `onAny` listener with the socket as `this` (its types do not say so).
  socket.onAny(dispatcher);
}

/**
 * A socket's `disconnect` listener, one function for every socket (an emitter calls its listeners
 * with itself as `this`). Nest's own disconnect hook (`OnGatewayDisconnect`) keeps, per socket, a
 * `once` wrapper and two closures over the socket for its life; the adapter does not bind it (see
 * ConfiguredIoAdapter.bindClientDisconnect).
 */
export function releaseOnDisconnect(
  release: (socket: AppSocket) => void,
): (this: AppSocket) => void {
  return function onDisconnect(this: AppSocket): void {
    release(this);
  };
}
