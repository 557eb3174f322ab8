import { EventEmitter } from 'node:events';
import type { Logger } from '@nestjs/common';
import type { AppSocket } from './socket-data';
import type { Ack } from './ack';
import {
  bindSocketEvents,
  sharedListeners,
  socketEventDispatcher,
  type SocketEventHandler,
} from './socket-events';

const logger = { error: jest.fn() } as unknown as Logger;

/**
 * What Socket.IO 4.8's `onevent` does with its `onAny` listeners: copies the list and calls each
 * with the socket as `this` (test/socket-edge checks real sockets share the one list).
 */
class AnySocket extends EventEmitter {
  _anyListeners?: ReadonlyArray<(...args: unknown[]) => void>;
  receive(...args: unknown[]): void {
    for (const listener of (this._anyListeners ?? []).slice()) listener.apply(this, args);
  }
}

function bound(handler: SocketEventHandler): AnySocket {
  const socket = new AnySocket();
  const dispatcher = socketEventDispatcher(new Map([['ev', handler]]), logger);
  bindSocketEvents(socket as unknown as AppSocket, sharedListeners(dispatcher));
  return socket;
}

describe('socketEventDispatcher', () => {
  it('passes the socket and the payload and answers the acknowledgement with the handler result', async () => {
    const seen: unknown[] = [];
    const socket = bound((s, payload) => {
      seen.push(s, payload);
      return Promise.resolve<Ack>({ ok: true });
    });
    const answer = await new Promise((resolve) => socket.receive('ev', { a: 1 }, resolve));
    expect(seen).toEqual([socket, { a: 1 }]);
    expect(answer).toEqual({ ok: true });
  });

  it('handles an event sent with only an acknowledgement, or without one', async () => {
    const seen: unknown[] = [];
    const socket = bound((_s, payload) => {
      seen.push(payload);
      return Promise.resolve<Ack>({ ok: true });
    });
    await new Promise((resolve) => socket.receive('ev', resolve));
    socket.receive('ev', 'no ack');
    await Promise.resolve();
    expect(seen).toEqual([undefined, 'no ack']);
  });

  it('ignores events no feature handles, and event names that are not strings', async () => {
    const handler = jest.fn(() => Promise.resolve<Ack>({ ok: true }));
    const socket = bound(handler);
    const acked = jest.fn();
    socket.receive('other', {}, acked);
    socket.receive(42, {}, acked);
    socket.receive('toString', {}, acked);
    await new Promise((r) => setImmediate(r));
    expect(handler).not.toHaveBeenCalled();
    expect(acked).not.toHaveBeenCalled();
  });

  it('logs a handler that rejects (a bug) instead of leaving the rejection unhandled', async () => {
    const socket = bound(() => Promise.reject(new Error('boom')));
    socket.receive('ev', {}, () => undefined);
    await new Promise((r) => setImmediate(r));
    expect(logger.error).toHaveBeenCalledWith('ev: boom');
  });
});
