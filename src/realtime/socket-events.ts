import type { Logger } from '@nestjs/common';
import { errorText } from '../common/background';
import type { Ack } from './ack';
import type { AppSocket } from './socket-data';

/** One socket event's handler: the payload in, the acknowledgement out. */
export type SocketEventHandler = (socket: AppSocket, payload: unknown) => Promise<Ack>;

/**
 * Binds the features' events straight to a socket's listeners. Nest's `@SubscribeMessage` path
 * runs, for every event, an execution context, the global guard and pipes (which have nothing to
 * do for a socket: handlers validate and map errors to acks themselves) and an RxJS pipeline:
 * about a fifth of what a chat message allocated on its sending instance, and the garbage
 * collections that allocation costs were the latency tail. The arguments are Socket.IO's as
 * Nest maps them: the first is the payload, a trailing function is the acknowledgement. An event
 * without one is still handled (a send is stored); its answer has nowhere to go.
 */
export function bindSocketEvents(
  socket: AppSocket,
  handlers: ReadonlyMap<string, SocketEventHandler>,
  logger: Logger,
): void {
  for (const [event, handler] of handlers) {
    // Socket.IO's typed `on` takes contract events only; the handler validates whatever comes.
    (socket as unknown as NodeJS.EventEmitter).on(event, (...args: unknown[]) => {
      const last = args.at(-1);
      const ack = typeof last === 'function' ? (last as (answer: Ack) => void) : undefined;
      const payload = ack !== undefined && args.length === 1 ? undefined : args[0];
      handler(socket, payload).then(
        (answer) => ack?.(answer),
        // Handlers turn every failure into an error ack; reaching here is a bug.
        (err: unknown) => logger.error(`${event}: ${errorText(err)}`),
      );
    });
  }
}
