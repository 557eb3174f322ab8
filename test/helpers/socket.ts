import {
  connect,
  request,
  unwrapAck,
  waitForConnect,
  type Ack,
  type AckOf,
  type AckOk,
  type ChatSocket,
  type ClientEvent,
  type ClientEventMap,
  type ConnectOptions,
  type ServerToClientEvents,
} from '@realtime-service/client';

/** The SDK's typed socket: every event name, payload and acknowledgement is checked. */
export type ClientSocket = ChatSocket;

/** Connects (WebSocket only, no reconnection) and resolves once connected; rejects with the connect_error message. */
export async function connectSocket(
  baseUrl: string,
  token: string | undefined,
  options: ConnectOptions = {},
): Promise<ClientSocket> {
  const socket = connect(baseUrl, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    token,
    ...options,
  });
  try {
    return await waitForConnect(socket);
  } catch (err) {
    socket.close();
    throw err;
  }
}

export type ServerEvent = keyof ServerToClientEvents;
export type PayloadOf<E extends ServerEvent> = Parameters<ServerToClientEvents[E]>[0];

/** Records every `event` a socket receives, and lets a test await a count or a match. */
export class EventLog<E extends ServerEvent, T = PayloadOf<E>> {
  readonly items: T[] = [];
  private waiters: Array<() => void> = [];

  constructor(socket: ClientSocket, event: E) {
    const listener = (payload: T): void => {
      this.items.push(payload);
      for (const w of this.waiters) w();
    };
    // Socket.IO's typing cannot follow a generic event name; E ties the payload to it.
    (socket as unknown as { on(event: E, listener: (payload: T) => void): void }).on(
      event,
      listener,
    );
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
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

/** Emits a client event and resolves with its typed acknowledgement (5 s timeout). */
export function ask<E extends ClientEvent>(
  socket: ClientSocket,
  event: E,
  payload: ClientEventMap[E]['payload'],
): Promise<AckOf<E>> {
  return request(socket, event, payload);
}

/** As `ask`, for an event that must succeed: the `{ok: true}` answer, or a throw naming the error. */
export async function askOk<E extends ClientEvent>(
  socket: ClientSocket,
  event: E,
  payload: ClientEventMap[E]['payload'],
): Promise<AckOk<E>> {
  return unwrapAck(event, await ask(socket, event, payload));
}

/**
 * Untyped on purpose: for the tests that send what the contract forbids (no payload, wrong
 * types, unknown events) and check the server's answer.
 */
export function askUntyped(socket: ClientSocket, event: string, ...args: unknown[]): Promise<Ack> {
  const untyped = socket.timeout(5000) as unknown as {
    emitWithAck(event: string, ...args: unknown[]): Promise<Ack>;
  };
  return untyped.emitWithAck(event, ...args);
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
