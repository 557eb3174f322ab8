import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';

export type ClientSocket = Socket;

/** Connects and resolves once connected; rejects with the connect_error message. */
export function connectSocket(
  baseUrl: string,
  token: string | undefined,
  options: Partial<ManagerOptions & SocketOptions> = {},
): Promise<ClientSocket> {
  const socket = io(baseUrl, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: token === undefined ? {} : { token },
    ...options,
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('connect_error', onError);
    socket.once('connect', () => {
      // Later errors belong to the client's own reconnection, not to this first connect.
      socket.off('connect_error', onError);
      resolve(socket);
    });
  });
}

/** Records every `event` a socket receives, and lets a test await a count or a match. */
export class EventLog<T = unknown> {
  readonly items: T[] = [];
  private waiters: Array<() => void> = [];

  constructor(socket: ClientSocket, event: string) {
    socket.on(event, (payload: T) => {
      this.items.push(payload);
      for (const w of this.waiters) w();
    });
  }

  /** Resolves when at least `n` events arrived; rejects after `timeoutMs`. */
  waitForCount(n: number, timeoutMs = 10000): Promise<T[]> {
    return this.waitFor(
      () => this.items.length >= n,
      `${n} events (have ${this.items.length})`,
      timeoutMs,
    ).then(() => this.items);
  }

  waitForMatch(predicate: (item: T) => boolean, timeoutMs = 10000): Promise<T> {
    return this.waitFor(() => this.items.some(predicate), 'a matching event', timeoutMs).then(
      () => this.items.find(predicate) as T,
    );
  }

  private waitFor(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }
}

/** Resolves with the disconnect reason. */
export function nextDisconnect(socket: ClientSocket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason: string) => resolve(reason)));
}

export interface AckOk {
  ok: true;
  [key: string]: unknown;
}
export interface AckErr {
  ok: false;
  error: { code: string; message: string };
}
export type AckResult = AckOk | AckErr;

/** Emits with an acknowledgement (5 s timeout). */
export function ask<T = AckResult>(
  socket: ClientSocket,
  event: string,
  ...args: unknown[]
): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<T>;
}

/** The sockets a suite opened, so `afterEach` can close whatever a test left open. */
export class SocketPool {
  private readonly open: ClientSocket[] = [];

  async connect(baseUrl: string, token: string): Promise<ClientSocket> {
    const socket = await connectSocket(baseUrl, token);
    this.open.push(socket);
    return socket;
  }

  closeAll(): void {
    for (const s of this.open.splice(0)) s.close();
  }
}
