import { MemoryBus } from './memory.bus';

declare module './bus' {
  interface BusTopics {
    'test.topic': { n: number };
  }
}

describe('MemoryBus', () => {
  it('delivers each event once to every handler, after the publisher returns', async () => {
    const bus = new MemoryBus('me');
    const got: Array<[string, number, string]> = [];
    bus.subscribe('test.topic', (p, meta) => got.push(['a', p.n, meta.origin]));
    const off = bus.subscribe('test.topic', (p) => got.push(['b', p.n, '']));
    bus.publish('test.topic', { n: 1 });
    expect(got).toEqual([]);
    await Promise.resolve();
    expect(got).toEqual([
      ['a', 1, 'me'],
      ['b', 1, ''],
    ]);
    off();
    bus.publish('test.topic', { n: 2 });
    await Promise.resolve();
    expect(got.slice(2)).toEqual([['a', 2, 'me']]);
    expect(bus.stats()).toEqual({ published: 2, publishFailures: 0, received: 2 });
  });

  it('keeps delivering to other handlers when one throws', async () => {
    const bus = new MemoryBus('me');
    const got: number[] = [];
    bus.subscribe('test.topic', () => {
      throw new Error('boom');
    });
    bus.subscribe('test.topic', (p) => got.push(p.n));
    bus.publish('test.topic', { n: 7 });
    await Promise.resolve();
    expect(got).toEqual([7]);
    await expect(bus.probe()).resolves.toBe(true);
  });
});
