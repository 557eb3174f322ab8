import { Logger } from '@nestjs/common';
import type { BusHandler, BusMeta, BusTopic, BusTopics } from './bus';

/** The per-instance handler table both bus implementations deliver into. */
export class LocalDispatcher {
  private readonly handlers = new Map<string, Set<BusHandler<BusTopic>>>();
  private readonly logger = new Logger('Bus');

  /**
   * Registers a handler; returns the function that removes it. (Subscriptions to Redis follow
   * interest, not handlers: a handler here only says what this instance does with an event.)
   */
  add<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void {
    let set = this.handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    const h = handler as BusHandler<BusTopic>;
    set.add(h);
    return () => {
      set.delete(h);
      if (set.size === 0) this.handlers.delete(topic);
    };
  }

  dispatch(topic: string, payload: unknown, meta: BusMeta): void {
    const set = this.handlers.get(topic);
    if (set === undefined) return;
    for (const handler of set) {
      try {
        handler(payload as BusTopics[BusTopic], meta);
      } catch (err) {
        this.logger.error(
          `handler for ${topic} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }
}
