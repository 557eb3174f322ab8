import { Injectable } from '@nestjs/common';
import { InjectConfig, type AppConfig } from '../config/app.config';

/**
 * MAX_CONNECTIONS_PER_USER on this instance, over every kind of connection together: sockets,
 * notification streams and waiting long-polls. Each takes a slot when it opens and gives it back
 * (once) when it ends.
 */
@Injectable()
export class ConnectionCounter {
  private readonly open = new Map<string, number>();

  constructor(@InjectConfig() private readonly config: AppConfig) {}

  /** A slot for one more connection of the user, and the function that frees it; null when full. */
  acquire(userId: string): (() => void) | null {
    if (!this.take(userId)) return null;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.give(userId);
    };
  }

  /**
   * The same without the closure, for a holder that already remembers, once per connection,
   * whether it holds a slot (the socket edge: a closure per idle socket is memory bare
   * Socket.IO does not spend). Every true `take` must be matched by exactly one `give`.
   */
  take(userId: string): boolean {
    const count = this.open.get(userId) ?? 0;
    if (count >= this.config.maxConnectionsPerUser) return false;
    this.open.set(userId, count + 1);
    return true;
  }

  give(userId: string): void {
    const left = (this.open.get(userId) ?? 1) - 1;
    if (left <= 0) this.open.delete(userId);
    else this.open.set(userId, left);
  }

  /** True when the user has no slot left here (a handshake then says so before connecting). */
  full(userId: string): boolean {
    return (this.open.get(userId) ?? 0) >= this.config.maxConnectionsPerUser;
  }
}
