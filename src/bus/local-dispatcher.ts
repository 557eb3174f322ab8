import { Logger } from '@nestjs/common';
import type { BusHandler, BusMeta, BusTopic, BusTopics } from './bus';

/** The per-instance handler table both bus implementations deliver into. */
export class LocalDispatcher {
  private readonly handlers = new Map<string, Set<BusHandler<BusTopic>>>();
  private readonly logger = new Logger('Bus');

  /** Returns true when this was the topic's first handler. */
  add<T extends BusTopic>(
    topic: T,
    handler: BusHandler<T>,
  ): { first: boolean; remove: () => boolean } {
    let set = this.handlers.get(topic);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    const h = handler as BusHandler<BusTopic>;
    set.add(h);
    return {
      first,
      remove: () => {
        set.delete(h);
        if (set.size === 0) {
          this.handlers.delete(topic);
          return true;
        }
        return false;
      },
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
