import fc from 'fast-check';
import type { NotificationView } from './contracts.js';
import { SeqCursor } from './cursor.js';
import { note } from './fixtures.js';

const seqs = (items: NotificationView[]): number[] => items.map((n) => n.seq);

describe('SeqCursor', () => {
  it('delivers the next seq and drops duplicates', () => {
    const cursor = new SeqCursor(2);
    expect(seqs(cursor.push(note(2)).ready)).toEqual([]);
    expect(seqs(cursor.push(note(3)).ready)).toEqual([3]);
    expect(seqs(cursor.push(note(3)).ready)).toEqual([]);
    expect(cursor.value).toBe(3);
  });

  it('holds what comes past a gap until the gap is filled, then delivers in order', () => {
    const cursor = new SeqCursor(0);
    expect(cursor.push(note(1)).gap).toBe(false);
    expect(cursor.push(note(3))).toEqual({ ready: [], gap: true });
    expect(cursor.push(note(4)).gap).toBe(true);
    expect(cursor.held).toBe(2);
    expect(seqs(cursor.push(note(2)).ready)).toEqual([2, 3, 4]);
    expect(cursor.held).toBe(0);
  });

  it('takes a poll page as authoritative, across a gap in history, then drains what it held', () => {
    const cursor = new SeqCursor(5);
    cursor.push(note(9));
    expect(seqs(cursor.fill([note(8), note(5), note(7)]))).toEqual([7, 8, 9]);
    expect(cursor.value).toBe(9);
  });

  it('flushes held items when a gap never fills, and resets', () => {
    const cursor = new SeqCursor(1);
    cursor.push(note(4));
    cursor.push(note(3));
    expect(seqs(cursor.flush())).toEqual([3, 4]);
    cursor.push(note(9));
    cursor.reset(2);
    expect(cursor.held).toBe(0);
    expect(seqs(cursor.push(note(3)).ready)).toEqual([3]);
  });

  it('delivers every seq exactly once and in order, however the transports interleave them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            // Each seq arrives one or more times, in any order; some pushes are poll pages.
            fc.shuffledSubarray(
              Array.from({ length: n * 2 }, (_, i) => (i % n) + 1),
              { minLength: n * 2, maxLength: n * 2 },
            ),
            fc.array(fc.boolean(), { minLength: n * 2, maxLength: n * 2 }),
          ),
        ),
        ([n, arrivals, asPage]) => {
          const cursor = new SeqCursor(0);
          const delivered: number[] = [];
          arrivals.forEach((seq, i) => {
            // A poll page always starts right after the cursor, so it may only carry seqs it has.
            const ready =
              asPage[i] && seq === cursor.value + 1
                ? cursor.fill([note(seq)])
                : cursor.push(note(seq)).ready;
            delivered.push(...seqs(ready));
          });
          expect(delivered).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        },
      ),
    );
  });
});
