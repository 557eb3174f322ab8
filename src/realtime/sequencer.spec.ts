import { Sequencer, type Sequenced } from './sequencer';

interface Item extends Sequenced {
  body: string;
}
const item = (seq: number): Item => ({ seq, body: `m${seq}` });

function setup(store: Item[] = [], gapTimeoutMs = 20, pageSize = 500) {
  const delivered: number[] = [];
  const fetches: Array<[number, number | null]> = [];
  /** Lets a test hold a read open, to race live events against it. */
  const gate = { hold: null as Promise<void> | null };
  const seq = new Sequencer<Item>({
    gapTimeoutMs,
    pageSize,
    fetch: async (_key, after, before, limit) => {
      fetches.push([after, before]);
      if (gate.hold !== null) await gate.hold;
      return store
        .filter((i) => i.seq > after && (before === null || i.seq < before))
        .slice(0, limit);
    },
    deliver: (_key, i) => delivered.push(i.seq),
  });
  return { seq, delivered, fetches, gate };
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Sequencer', () => {
  it('delivers in order at once when events come in order, and drops repeats', () => {
    const { seq, delivered, fetches } = setup();
    seq.track('r', 0);
    for (const s of [1, 2, 2, 3, 1]) seq.push('r', item(s));
    expect(delivered).toEqual([1, 2, 3]);
    expect(fetches).toEqual([]);
  });

  it('ignores streams nobody here tracks, and events at or before the starting point', () => {
    const { seq, delivered } = setup();
    seq.push('other', item(1));
    seq.track('r', 5);
    seq.push('r', item(5));
    seq.push('r', item(6));
    expect(delivered).toEqual([6]);
  });

  it('holds an early event until the one before it arrives', () => {
    const { seq, delivered, fetches } = setup();
    seq.track('r', 0);
    seq.push('r', item(2));
    seq.push('r', item(3));
    expect(delivered).toEqual([]);
    seq.push('r', item(1));
    expect(delivered).toEqual([1, 2, 3]);
    expect(fetches).toEqual([]);
  });

  it('reads a gap from the database when the missing event does not come', async () => {
    const { seq, delivered, fetches } = setup([item(1), item(2), item(3), item(4)]);
    seq.track('r', 0);
    seq.push('r', item(3));
    seq.push('r', item(4));
    await tick(50);
    expect(fetches).toEqual([[0, 3]]);
    expect(delivered).toEqual([1, 2, 3, 4]);
    seq.push('r', item(2)); // the late original is a repeat now
    expect(delivered).toEqual([1, 2, 3, 4]);
  });

  it('skips ahead when the gap cannot be read, rather than stalling', async () => {
    const { seq, delivered } = setup([]);
    seq.track('r', 0);
    seq.push('r', item(3));
    await tick(50);
    expect(delivered).toEqual([3]);
    seq.push('r', item(4));
    expect(delivered).toEqual([3, 4]);
  });

  it('forgets a stream when untracked', () => {
    const { seq, delivered } = setup();
    seq.track('r', 0);
    seq.untrack('r');
    seq.push('r', item(1));
    expect(delivered).toEqual([]);
    expect(seq.size()).toBe(0);
  });

  it('pages through a gap longer than one read, however long', async () => {
    jest.useFakeTimers();
    try {
      const store = range(1, 2500).map(item);
      const { seq, delivered, fetches } = setup(store, 10, 400);
      seq.track('r', 0);
      seq.push('r', item(2501));
      await jest.advanceTimersByTimeAsync(10); // the gap timeout; the pages resolve in turn
      expect(delivered).toEqual(range(1, 2501));
      expect(fetches.length).toBe(7); // 2500 rows, 400 a page
    } finally {
      jest.useRealTimers();
    }
  });

  it('forgets live copies of what a read delivered, and stops reading once the gap is filled', async () => {
    jest.useFakeTimers();
    try {
      const store = range(1, 3).map(item);
      const { seq, delivered, fetches, gate } = setup(store, 20);
      let open!: () => void;
      gate.hold = new Promise<void>((r) => (open = r));
      seq.track('r', 0);
      seq.push('r', item(3));
      await jest.advanceTimersByTimeAsync(25); // the gap read starts and is held open
      // Meanwhile the originals arrive live: they wait in pending behind the read.
      seq.push('r', item(1));
      seq.push('r', item(2));
      gate.hold = null;
      open();
      await jest.advanceTimersByTimeAsync(1);
      expect(delivered).toEqual([1, 2, 3]);
      await jest.advanceTimersByTimeAsync(2000); // a hundred gap timeouts
      expect(fetches).toEqual([[0, 3]]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('resyncs every stream from the database without a newer event to reveal the gap', async () => {
    const store = range(1, 1200).map(item);
    const { seq, delivered } = setup(store, 20, 500);
    seq.track('r', 0);
    seq.push('r', item(1)); // live up to 1; 2-1200 were published while the bus was down
    await seq.resyncAll();
    expect(delivered).toEqual(range(1, 1200));
    seq.push('r', item(1200)); // a late live copy
    seq.push('r', item(1201));
    expect(delivered).toEqual(range(1, 1201));
  });

  it('runs a resync asked for during a read once that read ends', async () => {
    jest.useFakeTimers();
    try {
      const store: Item[] = [item(1), item(2), item(3)];
      const { seq, delivered, gate } = setup(store, 10);
      let open!: () => void;
      gate.hold = new Promise<void>((r) => (open = r));
      seq.track('r', 0);
      seq.push('r', item(2));
      await jest.advanceTimersByTimeAsync(10); // the gap read is under way, held
      store.push(item(4), item(5)); // committed meanwhile, their publish lost
      const resync = seq.resyncAll();
      gate.hold = null;
      open();
      await resync;
      await jest.advanceTimersByTimeAsync(0); // the resync that waited for the read
      expect(delivered).toEqual([1, 2, 3, 4, 5]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('skips seqs the database no longer has (retention) instead of stalling', async () => {
    const store = [item(5), item(6)];
    const { seq, delivered } = setup(store, 10);
    seq.track('r', 0);
    await seq.resyncAll();
    expect(delivered).toEqual([5, 6]);
  });
});
