import { Sequencer, type Sequenced } from './sequencer';

interface Item extends Sequenced {
  body: string;
}
const item = (seq: number): Item => ({ seq, body: `m${seq}` });

function setup(store: Item[] = [], gapTimeoutMs = 20) {
  const delivered: number[] = [];
  const fetches: Array<[number, number | null]> = [];
  const seq = new Sequencer<Item>({
    gapTimeoutMs,
    fetch: (_key, after, before) => {
      fetches.push([after, before]);
      return Promise.resolve(
        store.filter((i) => i.seq > after && (before === null || i.seq < before)),
      );
    },
    deliver: (_key, i) => delivered.push(i.seq),
  });
  return { seq, delivered, fetches };
}

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
});
