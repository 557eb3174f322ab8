import type { Server, Socket } from 'socket.io';
import type { AuthUser } from '../auth/auth-user';
import type { ClientToServerEvents, ServerToClientEvents } from '../contracts';

/**
 * What the edge and the features keep for a socket, on the socket itself: a WeakSet or WeakMap
 * entry per socket per feature cost more heap than an idle bare Socket.IO socket holds beyond
 * ours, while these few fields fit in the data object's own slots. Each slot has one owner.
 * Socket.IO's connection state recovery (off here) would carry `data` over to the next socket,
 * these fields with it, and skip the handshake that binds events: turning it on needs them
 * reset there.
 */
export interface SocketData {
  user: AuthUser;
  /** The edge's: admitted and still holding its connection slot; cleared by the one release. */
  held?: boolean;
  /** Chat's: counted in presence (an admitted socket may never connect). */
  present?: boolean;
  /** Notifications': the socket's sink, typed by its owner (the edge never reads it). */
  sink?: unknown;
}

/**
 * Sockets and the server typed by the contract: what the server may emit is checked against
 * `ServerToClientEvents`. Client payloads arrive untrusted, so handlers take them as `unknown` and
 * validate (see SocketEventHandlers), whatever `ClientToServerEvents` says a client sends.
 */
export type AppSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;
export type AppServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

/** Socket.IO room names: every socket joins its user's and its login's room. */
export const userRoom = (userId: string): string => `user:${userId}`;
export const sessionRoom = (sessionId: string): string => `session:${sessionId}`;
export const chatRoom = (roomId: string): string => `room:${roomId}`;
