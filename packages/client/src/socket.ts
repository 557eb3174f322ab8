import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type {
  AckErrorCode,
  AckOf,
  ClientEvent,
  ClientEventMap,
  ClientToServerEvents,
  ServerToClientEvents,
} from './contracts.js';
import type { TokenSource } from './http.js';

/** A Socket.IO socket typed with the service's events both ways. */
export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectOptions extends Partial<ManagerOptions & SocketOptions> {
  /** Sent in the handshake's `auth` (a function is asked again at every reconnect). */
  token?: TokenSource;
  /** Node: a `Cookie` header for the handshake. Browsers send their own (`withCredentials` cross-origin). */
  cookies?: string;
}

/** Opens a typed socket to the service (`/socket.io`, namespace `/`). */
export function connect(baseUrl: string, options: ConnectOptions = {}): ChatSocket {
  const { token, cookies, ...rest } = options;
  const socketOptions: Partial<ManagerOptions & SocketOptions> = { ...rest };
  if (typeof token === 'string') socketOptions.auth = { token };
  else if (token !== undefined)
    socketOptions.auth = (cb) => {
      Promise.resolve(token()).then(
        (t) => cb({ token: t }),
        () => cb({}),
      );
    };
  if (cookies !== undefined) socketOptions.extraHeaders = { ...rest.extraHeaders, cookie: cookies };
  return io(baseUrl, socketOptions);
}

/** A refused handshake: `message` is what the server said (`unauthorized`, `unavailable`, ...). */
export class ConnectError extends Error {
  /** One of ConnectErrorMessage, or what a proxy or an older server said. */
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ConnectError';
  }
}

/** Resolves once the socket is connected; rejects on its first `connect_error`. */
export function waitForConnect(socket: ChatSocket): Promise<ChatSocket> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve(socket);
    const onError = (err: Error): void => {
      socket.off('connect', onConnect);
      reject(new ConnectError(err.message));
    };
    const onConnect = (): void => {
      // Later errors belong to the client's own reconnection, not to this connect.
      socket.off('connect_error', onError);
      resolve(socket);
    };
    socket.once('connect_error', onError);
    socket.once('connect', onConnect);
  });
}

export const DEFAULT_ACK_TIMEOUT_MS = 5000;

/** No acknowledgement within the timeout (the socket was away, or the server too slow). */
export class AckTimeoutError extends Error {
  constructor(
    readonly event: ClientEvent,
    readonly timeoutMs: number,
  ) {
    super(`${event}: no acknowledgement within ${timeoutMs} ms`);
    this.name = 'AckTimeoutError';
  }
}

/** The successful answer of a client event. */
export type AckOk<E extends ClientEvent> = Extract<AckOf<E>, { ok: true }>;

/** An event the server answered with `{ok: false}`. */
export class AckRefusedError extends Error {
  constructor(
    readonly event: ClientEvent,
    readonly code: AckErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${event}: ${code}: ${message}`);
    this.name = 'AckRefusedError';
  }
}

/** The `{ok: true}` answer, or AckRefusedError for an `{ok: false}` one. */
export function unwrapAck<E extends ClientEvent>(event: E, ack: AckOf<E>): AckOk<E> {
  if (ack.ok) return ack;
  const { code, message, retryAfterMs } = ack.error;
  throw new AckRefusedError(event, code, message, retryAfterMs);
}

type AckEmitter = <E extends ClientEvent>(
  event: E,
  payload: ClientEventMap[E]['payload'],
) => Promise<AckOf<E>>;

/** Emits a client event and resolves with its acknowledgement; AckTimeoutError after `timeoutMs`. */
export async function request<E extends ClientEvent>(
  socket: ChatSocket,
  event: E,
  payload: ClientEventMap[E]['payload'],
  timeoutMs = DEFAULT_ACK_TIMEOUT_MS,
): Promise<AckOf<E>> {
  // Socket.IO's own typing cannot follow a generic event name; the contract types it instead.
  const timed = socket.timeout(timeoutMs) as unknown as { emitWithAck: AckEmitter };
  try {
    return await timed.emitWithAck(event, payload);
  } catch {
    throw new AckTimeoutError(event, timeoutMs);
  }
}

/** A socket with one typed method per client event, each answering its acknowledgement. */
export class ChatClient {
  constructor(
    readonly socket: ChatSocket,
    private readonly timeoutMs = DEFAULT_ACK_TIMEOUT_MS,
  ) {}

  /** Opens the socket; use `ready()` to wait for the handshake. */
  static connect(
    baseUrl: string,
    options: ConnectOptions & { ackTimeoutMs?: number } = {},
  ): ChatClient {
    const { ackTimeoutMs, ...rest } = options;
    return new ChatClient(connect(baseUrl, rest), ackTimeoutMs);
  }

  /** Resolves once connected; rejects with ConnectError if the handshake is refused. */
  async ready(): Promise<this> {
    await waitForConnect(this.socket);
    return this;
  }

  request<E extends ClientEvent>(
    event: E,
    payload: ClientEventMap[E]['payload'],
    timeoutMs = this.timeoutMs,
  ): Promise<AckOf<E>> {
    return request(this.socket, event, payload, timeoutMs);
  }

  join(payload: ClientEventMap['room:join']['payload']): Promise<AckOf<'room:join'>> {
    return this.request('room:join', payload);
  }

  leave(payload: ClientEventMap['room:leave']['payload']): Promise<AckOf<'room:leave'>> {
    return this.request('room:leave', payload);
  }

  /** Persisted before the ack; a repeat with the same `clientMsgId` returns the first message. */
  send(payload: ClientEventMap['message:send']['payload']): Promise<AckOf<'message:send'>> {
    return this.request('message:send', payload);
  }

  sync(payload: ClientEventMap['messages:sync']['payload']): Promise<AckOf<'messages:sync'>> {
    return this.request('messages:sync', payload);
  }

  typing(payload: ClientEventMap['typing']['payload']): Promise<AckOf<'typing'>> {
    return this.request('typing', payload);
  }

  read(payload: ClientEventMap['room:read']['payload']): Promise<AckOf<'room:read'>> {
    return this.request('room:read', payload);
  }

  presence(payload: ClientEventMap['room:presence']['payload']): Promise<AckOf<'room:presence'>> {
    return this.request('room:presence', payload);
  }

  close(): void {
    this.socket.close();
  }
}
