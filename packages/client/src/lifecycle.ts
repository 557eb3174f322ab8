import { Emitter } from './emitter.js';
import { asError, supervise, type SuperviseOptions } from './supervisor.js';

export interface LifecycleEvents {
  /** A failure recovered from by itself (it retries, or falls back). */
  error: Error;
  /** Stopped: by close() (undefined), or for good (the error that stopped it). */
  close: Error | undefined;
}

/** A client kept running by `supervise` until close(), or until a failure it cannot get past. */
export abstract class Supervised<Events extends LifecycleEvents> extends Emitter<Events> {
  protected readonly abort = new AbortController();
  private started = false;

  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  /** Stops every request, stream and timer. */
  close(): void {
    this.stop(undefined);
  }

  /** Starts supervising (once); its end, whatever it is, stops this client. */
  protected run<T extends string>(options: Omit<SuperviseOptions<T>, 'signal' | 'onError'>): void {
    if (this.started || this.closed) return;
    this.started = true;
    supervise({
      ...options,
      signal: this.abort.signal,
      onError: (err) => this.emit('error', err as Events['error']),
    }).then(
      (err) => this.stop(err),
      (err: unknown) => this.stop(asError(err)),
    );
  }

  private stop(err: Error | undefined): void {
    if (this.closed) return;
    this.abort.abort();
    this.emit('close', err);
  }
}
