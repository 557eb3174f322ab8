import { EventEmitter } from 'node:events';
import type { Logger } from '@nestjs/common';
import type { AppSocket } from './socket-data';
import type { Ack } from './ack';
import { bindSocketEvents, type SocketEventHandler } from './socket-events';

const logger = { error: jest.fn() } as unknown as Logger;

function bound(handler: SocketEventHandler): EventEmitter {
  const socket = new EventEmitter();
  bindSocketEvents(socket as unknown as AppSocket, new Map([['ev', handler]]), logger);
  return socket;
}

describe('bindSocketEvents', () => {
  it('passes the payload and answers the acknowledgement with the handler result', async () => {
    const seen: unknown[] = [];
    const socket = bound((_s, payload) => {
      seen.push(payload);
      return Promise.resolve<Ack>({ ok: true });
    });
    const answer = await new Promise((resolve) => socket.emit('ev', { a: 1 }, resolve));
    expect(seen).toEqual([{ a: 1 }]);
    expect(answer).toEqual({ ok: true });
  });

  it('handles an event sent with only an acknowledgement, or without one', async () => {
    const seen: unknown[] = [];
    const socket = bound((_s, payload) => {
      seen.push(payload);
      return Promise.resolve<Ack>({ ok: true });
    });
    await new Promise((resolve) => socket.emit('ev', resolve));
    socket.emit('ev', 'no ack');
    await Promise.resolve();
    expect(seen).toEqual([undefined, 'no ack']);
  });

  it('logs a handler that rejects (a bug) instead of leaving the rejection unhandled', async () => {
    const socket = bound(() => Promise.reject(new Error('boom')));
    socket.emit('ev', {}, () => undefined);
    await new Promise((r) => setImmediate(r));
    expect(logger.error).toHaveBeenCalledWith('ev: boom');
  });
});
