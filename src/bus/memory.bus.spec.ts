import { MemoryBus } from './memory.bus';
import './routes';

// A real topic stands in: its read events carry a number (seq) to tell deliveries apart.
const ev = (n: number) => ({ roomId: 'r', userId: 'u', seq: n });

describe('MemoryBus', () => {
  it('delivers each event once to every handler, after the publisher returns', async () => {
    const bus = new MemoryBus('me');
    const got: Array<[string, number, string]> = [];
    bus.subscribe('chat.read', (p, meta) => got.push(['a', p.seq, meta.origin]));
    const off = bus.subscribe('chat.read', (p) => got.push(['b', p.seq, '']));
    bus.publish('chat.read', ev(1));
    expect(got).toEqual([]);
    await Promise.resolve();
    expect(got).toEqual([
      ['a', 1, 'me'],
      ['b', 1, ''],
    ]);
    off();
    bus.publish('chat.read', ev(2));
    await Promise.resolve();
    expect(got.slice(2)).toEqual([['a', 2, 'me']]);
    expect(bus.stats().published).toBe(2);
  });

  it('keeps delivering to other handlers when one throws', async () => {
    const bus = new MemoryBus('me');
    const got: number[] = [];
    bus.subscribe('chat.read', () => {
      throw new Error('boom');
    });
    bus.subscribe('chat.read', (p) => got.push(p.seq));
    bus.publish('chat.read', ev(7));
    await Promise.resolve();
    expect(got).toEqual([7]);
    await expect(bus.probe()).resolves.toBe(true);
  });
});
