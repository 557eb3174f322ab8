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
 * One function for every socket (Socket.IO passes the socket as `this`), as its `onAny` listener: a
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

/** One listener list, made once per server and shared by every socket (see bindSocketEvents). */
export type SocketEventListeners = readonly [SocketEventDispatcher];

/** The dispatcher as the frozen one-entry list every socket of a server shares. */
export function sharedListeners(dispatcher: SocketEventDispatcher): SocketEventListeners {
  return Object.freeze([dispatcher] as const);
}

/** Socket.IO's own field behind `onAny`; `listenersAny()` returns it. */
interface AnyListenerField {
  _anyListeners?: readonly SocketEventDispatcher[];
}

/**
 * Binds the dispatcher to a socket as its `onAny` listener, by giving it the server's one shared
 * list. `socket.onAny` would push the dispatcher into a new array per socket, whose backing store
 * (17 slots, about 150 bytes) was the largest single thing an idle socket held beyond a bare
 * Socket.IO socket. Socket.IO only reads the list (it copies it per event); being frozen, a later
 * `onAny`/`offAny` on one socket throws instead of changing them all, and nothing here calls
 * either.
 */
export function bindSocketEvents(socket: AppSocket, listeners: SocketEventListeners): void {
  (socket as unknown as AnyListenerField)._anyListeners = listeners;
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
