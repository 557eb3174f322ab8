/**
 * Which users have a socket on some live instance. Each instance reports its own users; an
 * instance that dies stops refreshing, and its users expire.
 */
export abstract class PresenceStore {
  /** This instance now has the user; true when the user was offline everywhere before. */
  abstract connect(userId: string): Promise<boolean>;
  /** This instance no longer has the user; true when the user is now offline everywhere. */
  abstract disconnect(userId: string): Promise<boolean>;
  /**
   * Keeps this instance's claims alive; returns the users whose claim had lapsed. Those are not
   * claimed again here: the caller does it with `connect`, in order with their other changes.
   */
  abstract refresh(userIds: string[]): Promise<string[]>;
  /** The subset of `userIds` online on some live instance. */
  abstract online(userIds: string[]): Promise<Set<string>>;
  /** Users that went offline because their only instance stopped refreshing (died). */
  abstract sweep(): Promise<string[]>;
}

/** One process: its own users are the whole truth. */
export class MemoryPresenceStore extends PresenceStore {
  private readonly users = new Set<string>();

  connect(userId: string): Promise<boolean> {
    const wasOffline = !this.users.has(userId);
    this.users.add(userId);
    return Promise.resolve(wasOffline);
  }

  disconnect(userId: string): Promise<boolean> {
    return Promise.resolve(this.users.delete(userId));
  }

  refresh(): Promise<string[]> {
    return Promise.resolve([]);
  }

  online(userIds: string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(userIds.filter((u) => this.users.has(u))));
  }

  sweep(): Promise<string[]> {
    return Promise.resolve([]);
  }
}
