import { MemoryBus } from '../bus/memory.bus';
import type { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';

const TTL_MS = 30_000;
const EXPIRES = new Date('2030-01-01T00:00:00Z');

/**
 * The session reads a check makes, answered when the test says: a stand-in for the one query
 * (a primary-key lookup) so the test can count reads and hold them in flight.
 */
class ReadsRepository {
  reads: Array<{ sessionId: string; answer: (expiresAt: Date | null) => void }> = [];
  /** Bulk reads: the ids asked for, answered with the ids still active. */
  bulk: Array<{ ids: readonly string[]; answer: (alive: string[]) => void }> = [];

  activeExpiry(sessionId: string): Promise<Date | null> {
    return new Promise((answer) => this.reads.push({ sessionId, answer }));
  }

  active(ids: readonly string[]): Promise<string[]> {
    return new Promise((answer) => this.bulk.push({ ids, answer }));
  }

  answerAll(expiresAt: Date | null): void {
    for (const r of this.reads.splice(0)) r.answer(expiresAt);
  }
}

describe('SessionsService.isActive', () => {
  let now = Date.parse('2026-12-01T12:00:00Z');
  let repo: ReadsRepository;
  let sessions: SessionsService;

  beforeEach(() => {
    // Timers are the test's (the bulk refresh waits one); promises and setImmediate are real.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    repo = new ReadsRepository();
    sessions = new SessionsService(repo as unknown as SessionsRepository, new MemoryBus('test'));
  });

  afterEach(() => {
    sessions.onModuleDestroy();
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  /** A first check of the session, answered active: it is in the cache from now on. */
  async function cached(sessionId: string, userId: string): Promise<void> {
    const first = sessions.isActive(sessionId, userId);
    repo.answerAll(EXPIRES);
    expect(await first).toBe(true);
  }

  it('makes one read for many concurrent checks of a session it has not seen', async () => {
    const checks = Array.from({ length: 50 }, () => sessions.isActive('s1', 'u1'));
    expect(repo.reads).toHaveLength(1);
    repo.answerAll(EXPIRES);
    expect(await Promise.all(checks)).toEqual(Array.from({ length: 50 }, () => true));
  });

  it('answers checks past the cache TTL at once and refreshes them all with one read', async () => {
    for (const id of ['s1', 's2', 's3']) await cached(id, `u-${id}`);

    now += TTL_MS + 1;
    // Nothing is awaited on the database: the cached answers come back at once.
    const stale = await Promise.all(
      ['s1', 's2', 's3', 's1', 's2'].map((id) => sessions.isActive(id, `u-${id}`)),
    );
    expect(stale.every((a) => a)).toBe(true);
    expect(repo.reads).toHaveLength(0);
    expect(repo.bulk).toHaveLength(0);

    // A moment later one read refreshes the three; it finds s2's login ended.
    jest.advanceTimersByTime(1000);
    expect(repo.bulk.map((b) => [...b.ids].sort())).toEqual([['s1', 's2', 's3']]);
    repo.bulk[0].answer(['s1', 's3']);
    await new Promise((r) => setImmediate(r));
    expect(await sessions.isActive('s1', 'u-s1')).toBe(true); // refreshed: no read
    expect(repo.reads).toHaveLength(0);
    const after = sessions.isActive('s2', 'u-s2'); // forgotten: read again
    expect(repo.reads.map((r) => r.sessionId)).toEqual(['s2']);
    repo.answerAll(null);
    expect(await after).toBe(false);
  });

  it('waits for the database once an entry is two TTLs old', async () => {
    await cached('s1', 'u1');

    now += 2 * TTL_MS + 1;
    let settled = false;
    const check = sessions.isActive('s1', 'u1').then((a) => {
      settled = true;
      return a;
    });
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    expect(repo.reads).toHaveLength(1);
    repo.answerAll(null);
    expect(await check).toBe(false);
  });

  it('never lets a read that started before a logout put the login back in the cache', async () => {
    const bus = new MemoryBus('test');
    sessions.onModuleDestroy();
    sessions = new SessionsService(repo as unknown as SessionsRepository, bus);
    const before = sessions.isActive('s1', 'u1'); // the read goes out...
    bus.publish('auth.session-ended', { userId: 'u1', sessionId: 's1' }); // ...the logout lands
    await new Promise((r) => setImmediate(r));
    const after = sessions.isActive('s1', 'u1'); // reads afresh, not the read in flight
    expect(repo.reads).toHaveLength(2);
    repo.answerAll(EXPIRES); // both reads saw the row before the revocation committed
    expect(await before).toBe(false);
    expect(await after).toBe(false);
    // Nothing was cached: the next check reads again.
    const again = sessions.isActive('s1', 'u1');
    expect(repo.reads).toHaveLength(1);
    repo.answerAll(null);
    expect(await again).toBe(false);
  });

  it('never answers for another user from the cache', async () => {
    await cached('s1', 'u1');
    expect(await sessions.isActive('s1', 'u2')).toBe(false);
    now += TTL_MS + 1;
    expect(await sessions.isActive('s1', 'u2')).toBe(false);
  });
});
