import type { Logger } from '@nestjs/common';
import { InterestTable, type Subscriptions } from './interest-table';

const logger = { warn: jest.fn(), log: jest.fn() } as unknown as Logger;

/** A transport that records calls and refuses the first `failures` subscribes. */
function transport(failures = 0): Subscriptions & { calls: string[] } {
  let left = failures;
  const calls: string[] = [];
  return {
    calls,
    connected: () => true,
    subscribe: (channel) => {
      calls.push(`sub ${channel}`);
      return left-- > 0 ? Promise.reject(new Error('refused')) : Promise.resolve();
    },
    unsubscribe: (channel) => {
      calls.push(`unsub ${channel}`);
      return Promise.resolve();
    },
  };
}

describe('InterestTable', () => {
  afterEach(() => jest.useRealTimers());

  it('subscribes on the first hold and unsubscribes on the last release only', async () => {
    const t = transport();
    const table = new InterestTable(t, logger);
    const one = table.hold('room', 'c');
    const two = table.hold('room', 'c');
    await Promise.all([one.ready, two.ready]);
    expect(table.counts()).toEqual({ room: 1, user: 0, quote: 0 });
    one.release();
    one.release(); // idempotent
    expect(t.calls).toEqual(['sub c']);
    two.release();
    expect(t.calls).toEqual(['sub c', 'unsub c']);
    expect(table.counts()).toEqual({ room: 0, user: 0, quote: 0 });
  });

  it('tries a refused subscribe again while the channel is held, and stops once released', async () => {
    jest.useFakeTimers();
    const t = transport(2);
    const table = new InterestTable(t, logger);
    const held = table.hold('user', 'u');
    await held.ready; // never rejects
    await jest.advanceTimersByTimeAsync(1000);
    await jest.advanceTimersByTimeAsync(1000);
    expect(t.calls).toEqual(['sub u', 'sub u', 'sub u']); // refused twice, then made
    await jest.advanceTimersByTimeAsync(5000);
    expect(t.calls).toHaveLength(3);

    const again = transport(100);
    const other = new InterestTable(again, logger);
    const h = other.hold('quote', 'q');
    await h.ready;
    h.release();
    await jest.advanceTimersByTimeAsync(5000);
    expect(again.calls).toEqual(['sub q', 'unsub q']);
  });
});
