import { Injectable } from '@nestjs/common';

type DrainListener = () => void;

/**
 * Knows whether this instance is shutting down. Readiness reads it; streaming edges register to
 * end their streams cleanly when draining starts, before the HTTP server closes.
 */
@Injectable()
export class LifecycleService {
  private isDraining = false;
  private readonly listeners = new Set<DrainListener>();

  get draining(): boolean {
    return this.isDraining;
  }

  onDrain(listener: DrainListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  startDraining(): void {
    if (this.isDraining) return;
    this.isDraining = true;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // one edge failing to drain must not stop the others
      }
    }
  }
}
