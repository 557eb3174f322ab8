import type { RedisClient } from '../redis/redis.connections';

/** One joined socket: a user's socket somewhere, named uniquely across instances. */
export interface CallSeat {
  callId: string;
  userId: string;
  /** `<instanceId>:<socketId>`. */
  socketKey: string;
}

/**
 * Who is in each live call right now: one seat per joined socket, on any instance. Seats live as
 * long as their instance refreshes them, so the seats of an instance that died lapse by
 * themselves and its users drop out of the call.
 */
export abstract class CallParticipantsStore {
  /**
   * Takes a seat; resolves with the call's participants (distinct users) after it, and whether
   * the seat's user was one before (another socket of theirs had joined). Both are read in the
   * same step as the seat is taken, so two sockets of one user joining at once cannot both
   * count as the user's arrival.
   */
  abstract join(seat: CallSeat): Promise<{ participants: string[]; wasIn: boolean }>;
  /** Gives a seat up; resolves with the call's participants after it. */
  abstract leave(seat: CallSeat): Promise<string[]>;
  abstract participants(callId: string): Promise<string[]>;
  /** Keeps these seats (this instance's) alive. */
  abstract refresh(seats: readonly CallSeat[]): Promise<void>;
  /** Forgets an ended call. */
  abstract clear(callId: string): Promise<void>;
}

const distinctUsers = (members: Iterable<string>): string[] => {
  const users = new Set<string>();
  for (const m of members) users.add(m.slice(0, m.indexOf('|')));
  return [...users];
};

const memberOf = (seat: CallSeat): string => `${seat.userId}|${seat.socketKey}`;

/** One process: its own sockets are every seat there is. */
export class MemoryCallParticipantsStore extends CallParticipantsStore {
  private readonly calls = new Map<string, Set<string>>();

  join(seat: CallSeat): Promise<{ participants: string[]; wasIn: boolean }> {
    let members = this.calls.get(seat.callId);
    if (members === undefined) {
      members = new Set();
      this.calls.set(seat.callId, members);
    }
    const wasIn = distinctUsers(members).includes(seat.userId);
    members.add(memberOf(seat));
    return Promise.resolve({ participants: distinctUsers(members), wasIn });
  }

  leave(seat: CallSeat): Promise<string[]> {
    const members = this.calls.get(seat.callId);
    members?.delete(memberOf(seat));
    if (members?.size === 0) this.calls.delete(seat.callId);
    return Promise.resolve(distinctUsers(members ?? []));
  }

  participants(callId: string): Promise<string[]> {
    return Promise.resolve(distinctUsers(this.calls.get(callId) ?? []));
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }

  clear(callId: string): Promise<void> {
    this.calls.delete(callId);
    return Promise.resolve();
  }
}

/** How long a seat lasts without its instance refreshing it. */
export const SEAT_TTL_MS = 30_000;

/**
 * Redis: `<p>rt:call:{<callId>}` is a sorted set of `<userId>|<socketKey>` scored by expiry (ms).
 * One key per call, its id as hash tag, so each call's commands stay in one slot of a cluster;
 * the key itself expires a while after its last refresh.
 */
export class RedisCallParticipantsStore extends CallParticipantsStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    super();
  }

  async join(seat: CallSeat): Promise<{ participants: string[]; wasIn: boolean }> {
    const key = this.key(seat.callId);
    const now = Date.now();
    // One transaction: the seats before, the new seat, the seats after.
    const result = await this.redis
      .multi()
      .zrangebyscore(key, `(${now}`, '+inf')
      .zadd(key, now + SEAT_TTL_MS, memberOf(seat))
      .pexpire(key, SEAT_TTL_MS * 2)
      .zrangebyscore(key, `(${now}`, '+inf')
      .exec();
    const before = distinctUsers(this.listAt(result, 0));
    return {
      participants: distinctUsers(this.listAt(result, 3)),
      wasIn: before.includes(seat.userId),
    };
  }

  async leave(seat: CallSeat): Promise<string[]> {
    const key = this.key(seat.callId);
    const result = await this.redis
      .multi()
      .zrem(key, memberOf(seat))
      .zrangebyscore(key, `(${Date.now()}`, '+inf')
      .exec();
    return distinctUsers(this.listAt(result, 1));
  }

  async participants(callId: string): Promise<string[]> {
    return distinctUsers(
      await this.redis.zrangebyscore(this.key(callId), `(${Date.now()}`, '+inf'),
    );
  }

  async refresh(seats: readonly CallSeat[]): Promise<void> {
    const expiry = Date.now() + SEAT_TTL_MS;
    const byCall = new Map<string, CallSeat[]>();
    for (const seat of seats) {
      const list = byCall.get(seat.callId);
      if (list === undefined) byCall.set(seat.callId, [seat]);
      else list.push(seat);
    }
    // One transaction per call: a cluster takes multi-key commands only within a slot.
    await Promise.all(
      [...byCall].map(async ([callId, list]) => {
        const key = this.key(callId);
        const tx = this.redis.multi();
        // XX: a seat given up meanwhile is not taken again.
        for (const seat of list) tx.zadd(key, 'XX', expiry, memberOf(seat));
        await tx.pexpire(key, SEAT_TTL_MS * 2).exec();
      }),
    );
  }

  async clear(callId: string): Promise<void> {
    await this.redis.del(this.key(callId));
  }

  private key(callId: string): string {
    return `${this.prefix}rt:call:{${callId}}`;
  }

  /** The reply at `index` of a transaction, as the list it is. */
  private listAt(result: [Error | null, unknown][] | null, index: number): string[] {
    const reply = result?.[index];
    if (reply === undefined) throw new Error('call participants transaction was discarded');
    if (reply[0] !== null) throw reply[0];
    return reply[1] as string[];
  }
}
