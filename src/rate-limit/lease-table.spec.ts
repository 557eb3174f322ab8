import { LeaseTable } from './lease-table';

describe('LeaseTable', () => {
  const t0 = 1_000_000;
  const reply = (window: string, granted: number, held: number, ttlMs = 10_000) => ({
    window,
    granted,
    held,
    ttlMs,
    crowded: true,
  });

  it('asks for no spare slots for a user seen once, then doubles up to a quarter of the limit', () => {
    const t = new LeaseTable(1000);
    expect(t.ask('u', 40, 1, t0)).toEqual({ extra: 0, window: '', used: 0 });
    expect(t.granted('u', reply('w1', 1, 0), 1, t0)).toBe(1);
    const extras = [1, 2, 3, 4, 5].map((i) => t.ask('u', 40, 1, t0 + i).extra);
    expect(extras).toEqual([1, 2, 4, 8, 10]);
    // A burst asks for no spare, and leaves the pace as it was.
    expect(t.ask('u', 40, 3, t0 + 6).extra).toBe(0);
    expect(t.ask('u', 40, 1, t0 + 7).extra).toBe(10);
  });

  it('serves granted spare slots until they run out or the window ends, and reports their use', () => {
    const t = new LeaseTable(1000);
    expect(t.granted('u', reply('w1', 3, 2, 500), 1, t0)).toBe(1);
    expect(t.take('u', t0 + 1)).toBe(true);
    expect(t.take('u', t0 + 2)).toBe(true);
    expect(t.take('u', t0 + 3)).toBe(false);
    expect(t.take('other', t0)).toBe(false);
    // The next ask carries the report of the two slots used.
    expect(t.ask('u', 40, 1, t0 + 4)).toEqual({ extra: 1, window: 'w1', used: 2 });
    expect(t.granted('u', reply('w1', 2, 1, 100), 1, t0 + 400)).toBe(1);
    expect(t.take('u', t0 + 450)).toBe(true);
    // The lease ends when the window does, measured from when the ask was sent.
    t.refund('u', t0 + 460);
    expect(t.take('u', t0 + 500)).toBe(false);
  });

  it('counts slots used while an ask was out against what Redis says is held', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 4, 3), 1, t0);
    t.ask('u', 40, 1, t0 + 1);
    expect(t.take('u', t0 + 2)).toBe(true);
    // Redis still holds 3 for us (the ask left before that use), and grants none spare now.
    expect(t.granted('u', reply('w1', 1, 3), 1, t0 + 3)).toBe(1);
    expect([1, 2, 3].map((i) => t.take('u', t0 + 3 + i))).toEqual([true, true, false]);
  });

  it('allows only what was granted when the window is full, and stops leasing ahead', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 1, 0), 1, t0);
    expect(t.ask('u', 40, 1, t0).extra).toBe(1);
    expect(t.granted('u', reply('w1', 2, 0), 5, t0 + 1)).toBe(2);
    expect(t.take('u', t0 + 2)).toBe(false);
    expect(t.ask('u', 40, 1, t0 + 3).extra).toBe(1);
  });

  it('drops what was left of an ended window when a new one is granted', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 5, 4), 1, t0);
    t.granted('u', reply('w2', 1, 0), 1, t0 + 1);
    expect(t.take('u', t0 + 2)).toBe(false);
  });

  it('stops using a revoked lease, and takes what a report says is still held', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 5, 4), 1, t0);
    t.revoked('u');
    expect(t.take('u', t0 + 1)).toBe(false);
    t.settled('u', 'w1', 2);
    expect([2, 3, 4].map((i) => t.take('u', t0 + i))).toEqual([true, true, false]);
    t.settled('u', 'w1', -1);
    expect(t.size).toBe(0);
  });

  it('holds a refund in a live lease (reported as negative use), and not after its window', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 1, 0, 100), 1, t0);
    expect(t.refund('u', t0 + 50)).toBe(true);
    expect(t.sweep(t0 + 50)).toEqual([{ bucket: 'u', window: 'w1', used: -1, release: false }]);
    expect(t.take('u', t0 + 60)).toBe(true);
    expect(t.refund('u', t0 + 100)).toBe(false);
    expect(t.refund('nobody', t0)).toBe(false);
  });

  it('reports use, gives idle leases back, forgets ended ones, and drains at shutdown', () => {
    const t = new LeaseTable(1000);
    t.granted('idle', reply('w1', 4, 3), 1, t0);
    t.granted('busy', reply('w2', 4, 3), 1, t0);
    t.granted('ended', reply('w3', 4, 3, 500), 1, t0);
    t.granted('spent', reply('w4', 1, 0), 1, t0);
    expect(t.take('busy', t0 + 900)).toBe(true);
    expect(t.sweep(t0 + 1000)).toEqual([
      { bucket: 'idle', window: 'w1', used: 0, release: true },
      { bucket: 'busy', window: 'w2', used: 1, release: false },
    ]);
    expect(t.size).toBe(1);
    // Reported: nothing more to say until the next use.
    expect(t.sweep(t0 + 1001)).toEqual([]);
    expect(t.drain(t0 + 1002)).toEqual([{ bucket: 'busy', window: 'w2', used: 0, release: true }]);
    expect(t.size).toBe(0);
  });

  it('leaves the use of a lease in a window less than half used to the next ask', () => {
    const t = new LeaseTable(1000);
    t.granted('u', { ...reply('w1', 4, 3), crowded: false }, 1, t0);
    expect(t.take('u', t0 + 1)).toBe(true);
    expect(t.sweep(t0 + 2)).toEqual([]);
    expect(t.take('u', t0 + 3)).toBe(true);
    expect(t.take('u', t0 + 4)).toBe(true);
    expect(t.ask('u', 40, 1, t0 + 5)).toEqual({ extra: 1, window: 'w1', used: 3 });
  });
});
