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

  activeExpiry(sessionId: string): Promise<Date | null> {
    return new Promise((answer) => this.reads.push({ sessionId, answer }));
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
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    repo = new ReadsRepository();
    sessions = new SessionsService(repo as unknown as SessionsRepository, new MemoryBus('test'));
  });

  afterEach(() => {
    sessions.onModuleDestroy();
    jest.restoreAllMocks();
  });

  it('makes one read for many concurrent checks of a session it has not seen', async () => {
    const checks = Array.from({ length: 50 }, () => sessions.isActive('s1', 'u1'));
    expect(repo.reads).toHaveLength(1);
    repo.answerAll(EXPIRES);
    expect(await Promise.all(checks)).toEqual(Array.from({ length: 50 }, () => true));
  });

  it('answers a check past the cache TTL at once and refreshes it with one read', async () => {
    const first = sessions.isActive('s1', 'u1');
    repo.answerAll(EXPIRES);
    await first;

    now += TTL_MS + 1;
    // Nothing is awaited on the database: the cached answer comes back while one read runs.
    const stale = await Promise.all(
      Array.from({ length: 20 }, () => sessions.isActive('s1', 'u1')),
    );
    expect(stale.every((a) => a)).toBe(true);
    expect(repo.reads).toHaveLength(1);

    // The refresh finds the login ended: the next check says so.
    repo.answerAll(null);
    await new Promise((r) => setImmediate(r));
    const after = sessions.isActive('s1', 'u1');
    expect(repo.reads).toHaveLength(1); // not cached any more: read again
    repo.answerAll(null);
    expect(await after).toBe(false);
  });

  it('waits for the database once an entry is two TTLs old', async () => {
    const first = sessions.isActive('s1', 'u1');
    repo.answerAll(EXPIRES);
    await first;

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

  it('never answers for another user from the cache', async () => {
    const first = sessions.isActive('s1', 'u1');
    repo.answerAll(EXPIRES);
    await first;
    expect(await sessions.isActive('s1', 'u2')).toBe(false);
    now += TTL_MS + 1;
    expect(await sessions.isActive('s1', 'u2')).toBe(false);
  });
});
