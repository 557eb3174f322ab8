import type { Logger } from '@nestjs/common';
import { errorText } from '../common/background';
import type { Interest, InterestFamily } from './bus';

/** What the table needs of a transport. */
export interface Subscriptions {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  /** False while the subscriber is disconnected (a subscribe then waits for the reconnection). */
  connected(): boolean;
}

interface Entry {
  family: InterestFamily;
  holders: number;
  ready: Promise<void>;
}

/** How often a refused subscribe is tried again while its channel is held. */
const RETRY_MS = 1000;
/** How long a holder waits for a subscription to be confirmed before going on without it. */
const READY_TIMEOUT_MS = 2000;

/**
 * Channel subscriptions counted by holders: subscribed on the first hold, unsubscribed on the
 * last release. Subscribe and unsubscribe of one channel go out on one connection in call order,
 * so a release followed by a hold ends subscribed. `ready` never rejects: while the subscriber is
 * disconnected (or slow) a holder goes on at once, because the reconnection re-subscribes and
 * then raises a resync, which re-reads from the database whatever was tracked.
 */
export class InterestTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly transport: Subscriptions,
    private readonly logger: Logger,
  ) {}

  hold(family: InterestFamily, channel: string): Interest {
    let entry = this.entries.get(channel);
    if (entry === undefined) {
      const created: Entry = { family, holders: 0, ready: Promise.resolve() };
      created.ready = this.subscribe(channel, () => this.entries.get(channel) === created);
      entry = created;
      this.entries.set(channel, entry);
    }
    entry.holders++;
    const held = entry;
    let released = false;
    return {
      ready: held.ready,
      release: () => {
        if (released) return;
        released = true;
        held.holders--;
        if (held.holders > 0 || this.entries.get(channel) !== held) return;
        this.entries.delete(channel);
        this.transport
          .unsubscribe(channel)
          .catch((err: unknown) =>
            this.logger.warn(`unsubscribe ${channel} failed: ${errorText(err)}`),
          );
      },
    };
  }

  /** Channels held right now, by family. */
  counts(): Record<InterestFamily, number> {
    const counts = { room: 0, user: 0, quote: 0 };
    for (const entry of this.entries.values()) counts[entry.family]++;
    return counts;
  }

  private subscribe(channel: string, stillHeld: () => boolean): Promise<void> {
    const wasConnected = this.transport.connected();
    const subscribed = this.attempt(channel, stillHeld);
    if (!wasConnected) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, READY_TIMEOUT_MS);
      timer.unref();
    });
    return Promise.race([subscribed, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * One subscribe, tried again every RETRY_MS while the channel is held: a subscription refused
   * while connected (on a cluster, a slot without an owner for a moment) is not re-made by the
   * client's own reconnection logic, which only restores what it had.
   */
  private attempt(channel: string, stillHeld: () => boolean, retry = false): Promise<void> {
    return Promise.resolve()
      .then(() => this.transport.subscribe(channel))
      .then(
        () => {
          if (retry) this.logger.log(`subscribed ${channel} after retrying`);
        },
        (err: unknown) => {
          // Logged once per channel, not once a second.
          if (!retry) this.logger.warn(`subscribe ${channel} failed, retrying: ${errorText(err)}`);
          setTimeout(() => {
            if (stillHeld()) this.attempt(channel, stillHeld, true).catch(() => undefined);
          }, RETRY_MS).unref();
        },
      );
  }
}
