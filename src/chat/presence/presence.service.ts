import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Bus } from '../../bus/bus';
import { RoomsService } from '../rooms.service';
import { PresenceStore } from './presence.store';
import { inBackground } from '../../common/background';

const REFRESH_INTERVAL_MS = 6_000;
const SWEEP_INTERVAL_MS = 3_000;

/**
 * Counts this instance's connections per user (sockets, and notification streams and waiting
 * long-polls: a user reachable live anywhere is not sent Web Push) and reports the first one in
 * and the last one out to the shared store; publishes `presence` when a user comes online or
 * goes offline anywhere. So a user with only a stream open shows as online in rooms too
 * (accepted: one shared truth for "reachable now", rather than a second claim to keep alive).
 */
@Injectable()
export class PresenceService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Presence');
  private readonly sockets = new Map<string, number>();
  /**
   * Users whose claim this instance has made in the store (arrival done) and not yet dropped.
   * Only these are refreshed: a refresh racing an arrival or a departure must not make or undo a
   * claim behind its back.
   */
  private readonly claimed = new Set<string>();
  /** Store calls per user run in order, so a quick connect/disconnect cannot cross. */
  private readonly chains = new Map<string, Promise<void>>();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(PresenceStore) private readonly store: PresenceStore,
    private readonly rooms: RoomsService,
    private readonly bus: Bus,
  ) {}

  onModuleInit(): void {
    this.timers = [
      setInterval(
        () => inBackground(this.logger, 'presence refresh', () => this.refresh()),
        REFRESH_INTERVAL_MS,
      ),
      setInterval(
        () => inBackground(this.logger, 'presence sweep', () => this.sweep()),
        SWEEP_INTERVAL_MS,
      ),
    ];
    for (const t of this.timers) t.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    // Leave cleanly so others see these users go offline now, not at the TTL.
    await Promise.all(
      [...this.sockets.keys()].map((userId) => this.serial(userId, () => this.leave(userId))),
    );
    this.sockets.clear();
  }

  connected(userId: string): void {
    const count = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, count);
    if (count === 1)
      inBackground(this.logger, 'presence arrival', () =>
        this.serial(userId, () => this.arrive(userId)),
      );
  }

  disconnected(userId: string): void {
    const count = (this.sockets.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.sockets.set(userId, count);
      return;
    }
    this.sockets.delete(userId);
    inBackground(this.logger, 'presence departure', () =>
      this.serial(userId, () => this.leave(userId)),
    );
  }

  online(userIds: string[]): Promise<Set<string>> {
    return this.store.online(userIds);
  }

  private async arrive(userId: string): Promise<void> {
    if (!this.sockets.has(userId) || this.claimed.has(userId)) return; // gone again, or claimed
    const first = await this.store.connect(userId);
    this.claimed.add(userId);
    if (first) await this.announce(userId, true);
  }

  private async leave(userId: string): Promise<void> {
    if (this.sockets.has(userId)) return; // came back before we got here
    // Never claimed here (the socket went before its arrival ran): nothing to undo, and telling
    // the room "offline" would contradict another instance that has the user.
    if (!this.claimed.delete(userId)) return;
    if (await this.store.disconnect(userId)) await this.announce(userId, false);
  }

  private async announce(userId: string, online: boolean): Promise<void> {
    const roomIds = await this.rooms.presenceRoomIdsOf(userId);
    // One event per room, on that room's channel: only instances with its members hear it.
    this.bus.publishBatch(
      'presence',
      roomIds.map((roomId) => ({ roomId, userId, online })),
    );
  }

  private serial(userId: string, task: () => Promise<void>): Promise<void> {
    const previous = this.chains.get(userId) ?? Promise.resolve();
    const next = previous
      .then(task)
      .catch((err: unknown) =>
        this.logger.warn(
          `presence update failed: ${err instanceof Error ? err.message : String(err)}`,
        ),
      )
      .finally(() => {
        if (this.chains.get(userId) === next) this.chains.delete(userId);
      });
    this.chains.set(userId, next);
    return next;
  }

  private async refresh(): Promise<void> {
    try {
      const lapsed = await this.store.refresh([...this.claimed]);
      // Claimed again in each user's own order of changes; announced if they were offline.
      for (const userId of lapsed) {
        if (!this.claimed.delete(userId)) continue; // left meanwhile
        inBackground(this.logger, 'presence reclaim', () =>
          this.serial(userId, () => this.arrive(userId)),
        );
      }
    } catch (err) {
      this.logger.warn(
        `presence refresh failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private async sweep(): Promise<void> {
    try {
      for (const userId of await this.store.sweep()) await this.announce(userId, false);
    } catch (err) {
      this.logger.warn(
        `presence sweep failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
