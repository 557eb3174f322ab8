import { LeaseTable, NO_LEASE } from './lease-table';

describe('LeaseTable', () => {
  const t0 = 1_000_000;
  const reply = (window: string, allowed: number, held: number, ttlMs = 10_000) => ({
    window,
    allowed,
    held,
    ttlMs,
  });

  it('asks for no spare slots for a user seen once, then doubles up to a quarter of the limit', () => {
    const t = new LeaseTable(1000);
    expect(t.ask('u', 40, 1, t0)).toEqual(NO_LEASE);
    expect(t.granted('u', reply('w1', 1, 0), NO_LEASE, t0)).toBe(1);
    const extras = [1, 2, 3, 4, 5].map((i) => t.ask('u', 40, 1, t0 + i).extra);
    expect(extras).toEqual([1, 2, 4, 8, 10]);
    // A burst asks for no spare, and leaves the pace as it was.
    expect(t.ask('u', 40, 3, t0 + 6).extra).toBe(0);
    expect(t.ask('u', 40, 1, t0 + 7).extra).toBe(10);
  });

  it('serves granted spare slots until they run out or the window ends, and reports their use', () => {
    const t = new LeaseTable(1000);
    expect(t.granted('u', reply('w1', 1, 2, 500), NO_LEASE, t0)).toBe(1);
    expect(t.take('u', t0 + 1)).toBe('w1');
    expect(t.take('u', t0 + 2)).toBe('w1');
    expect(t.take('u', t0 + 3)).toBeNull();
    expect(t.take('other', t0)).toBeNull();
    // The next ask carries the running total of the slots used.
    const terms = t.ask('u', 40, 1, t0 + 4);
    expect(terms).toEqual({ extra: 1, window: 'w1', total: 2 });
    expect(t.granted('u', reply('w1', 1, 1, 100), terms, t0 + 400)).toBe(1);
    expect(t.take('u', t0 + 450)).toBe('w1');
    // The lease ends when the window does, measured from when the ask was sent.
    expect(t.refund('u', 'w1', t0 + 460)).toBe(true);
    expect(t.take('u', t0 + 500)).toBeNull();
  });

  it('counts slots used while an ask was out against what Redis says is held', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 1, 3), NO_LEASE, t0);
    const terms = t.ask('u', 40, 1, t0 + 1);
    expect(t.take('u', t0 + 2)).toBe('w1');
    // Redis still holds 3 for us (the ask left before that use), and grants none spare now.
    expect(t.granted('u', reply('w1', 1, 3), terms, t0 + 3)).toBe(1);
    expect([1, 2, 3].map((i) => t.take('u', t0 + 3 + i))).toEqual(['w1', 'w1', null]);
  });

  it('drops what was left of an ended window when a new one is granted', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 1, 4), NO_LEASE, t0);
    const terms = t.ask('u', 40, 1, t0 + 1);
    t.granted('u', reply('w2', 1, 0), terms, t0 + 1);
    expect(t.take('u', t0 + 2)).toBeNull();
  });

  it('uses fewer slots after a revocation in its window, and takes what a report says is held', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 1, 4), NO_LEASE, t0);
    t.revoked('u', 'w0', 4);
    t.revoked('u', 'w1', 3);
    expect(t.take('u', t0 + 1)).toBe('w1');
    expect(t.take('u', t0 + 2)).toBeNull();
    // The report (total 1) says Redis holds 2 for us after all.
    t.settled('u', 'w1', 1, 2);
    expect([3, 4, 5].map((i) => t.take('u', t0 + i))).toEqual(['w1', 'w1', null]);
    t.settled('u', 'w1', 3, -1);
    expect(t.size).toBe(0);
  });

  it('holds a refund in a live lease of its window only', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 1, 0, 100), NO_LEASE, t0);
    expect(t.refund('u', 'w0', t0 + 50)).toBe(false);
    expect(t.refund('u', 'w1', t0 + 50)).toBe(true);
    expect(t.sweep(t0 + 50)).toEqual([{ bucket: 'u', window: 'w1', total: -1, release: false }]);
    expect(t.take('u', t0 + 60)).toBe('w1');
    expect(t.refund('u', 'w1', t0 + 100)).toBe(false);
    expect(t.refund('nobody', 'w1', t0)).toBe(false);
  });

  it('reports use, gives idle leases back, forgets ended ones, and drains at shutdown', () => {
    const t = new LeaseTable(1000);
    t.granted('idle', reply('w1', 1, 3), NO_LEASE, t0);
    t.granted('busy', reply('w2', 1, 3), NO_LEASE, t0);
    t.granted('ended', reply('w3', 1, 3, 500), NO_LEASE, t0);
    // Seen once, never held anything: nothing to give back.
    t.granted('once', reply('w4', 1, 0), NO_LEASE, t0);
    expect(t.take('busy', t0 + 900)).toBe('w2');
    expect(t.sweep(t0 + 1000)).toEqual([
      { bucket: 'idle', window: 'w1', total: 0, release: true },
      { bucket: 'busy', window: 'w2', total: 1, release: false },
    ]);
    expect(t.size).toBe(1);
    // Reported: nothing more to say until the next use.
    expect(t.sweep(t0 + 1001)).toEqual([]);
    expect(t.drain(t0 + 1002)).toEqual([{ bucket: 'busy', window: 'w2', total: 1, release: true }]);
    expect(t.size).toBe(0);
  });

  it('reports again after a report or ask that may not have arrived', () => {
    const t = new LeaseTable(1000);
    t.granted('u', reply('w1', 1, 3), NO_LEASE, t0);
    t.take('u', t0 + 1);
    expect(t.sweep(t0 + 2)).toEqual([{ bucket: 'u', window: 'w1', total: 1, release: false }]);
    t.unsent('u', 'w1');
    expect(t.sweep(t0 + 3)).toEqual([{ bucket: 'u', window: 'w1', total: 1, release: false }]);
  });
});
