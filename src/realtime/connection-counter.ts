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
    const count = this.open.get(userId) ?? 0;
    if (count >= this.config.maxConnectionsPerUser) return null;
    this.open.set(userId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(userId) ?? 1) - 1;
      if (left <= 0) this.open.delete(userId);
      else this.open.set(userId, left);
    };
  }

  /** True when the user has no slot left here (a handshake then says so before connecting). */
  full(userId: string): boolean {
    return (this.open.get(userId) ?? 0) >= this.config.maxConnectionsPerUser;
  }
}
