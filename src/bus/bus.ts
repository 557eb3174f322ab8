import type { BusTopics } from './bus.events';

export type { BusTopics } from './bus.events';

export type BusTopic = Extract<keyof BusTopics, string>;

export interface BusMeta {
  /** Instance that published the event. */
  origin: string;
  /** Epoch milliseconds at publish, for end-to-end latency. */
  publishedAt: number;
}

export type BusHandler<T extends BusTopic> = (payload: BusTopics[T], meta: BusMeta) => void;

/**
 * Where an event travels. `room`, `user` and `quote` events go on one channel per room, user or
 * symbol, which an instance receives only while it holds an interest in it; `control` events
 * (a login ended) reach every instance.
 */
export type BusFamily = 'room' | 'user' | 'quote' | 'control';
export type InterestFamily = Exclude<BusFamily, 'control'>;

/** A held subscription to one channel's events from other instances. */
export interface Interest {
  /** Resolves once the transport confirmed the subscription (at once when already held). */
  readonly ready: Promise<void>;
  /** Lets go; the channel is unsubscribed when its last holder lets go. Idempotent. */
  release(): void;
}

export interface BusStats {
  published: number;
  publishFailures: number;
  /** Events received from the transport, by family (what other instances sent us). */
  received: Record<BusFamily, number>;
  /** Channels subscribed right now, by family. */
  channels: Record<InterestFamily, number>;
}

/**
 * The one cross-instance channel. `publish` is fire-and-forget: it never throws into a caller
 * that has already committed its data; failures are logged and counted. An event reaches the
 * publishing instance's handlers, and the handlers of every instance that holds an interest in
 * its channel (control events: every instance), exactly once each. Handlers deliver to their
 * instance's own clients; they only see what some client here asked for, plus local publishes.
 */
export abstract class Bus {
  abstract publish<T extends BusTopic>(topic: T, payload: BusTopics[T]): void;
  /**
   * Publishes several events of one topic as one transport write (a committed batch of chat
   * messages); handlers still get them one by one, in order.
   */
  abstract publishBatch<T extends BusTopic>(topic: T, payloads: readonly BusTopics[T][]): void;
  /** Registers a handler; returns the function that removes it. */
  abstract subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void;
  /**
   * Receives the channel's events from other instances while held (counted per channel, so
   * several holders share one subscription). A caller that reads a backlog after subscribing
   * awaits `ready` first, so nothing falls between the read and the live feed.
   */
  abstract interest(family: InterestFamily, key: string): Interest;
  /**
   * Registers a listener for "events may have been lost": the transport reconnected, or another
   * instance's publishes failed for a while. Listeners re-read from the database whatever they
   * track. Returns the function that removes it.
   */
  abstract onResync(listener: () => void): () => void;
  /** Publishes a canary through the transport and resolves true if it came back in time. */
  abstract probe(timeoutMs: number): Promise<boolean>;
  abstract stats(): BusStats;
}
