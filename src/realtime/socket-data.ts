import type { Server, Socket } from 'socket.io';
import type { AuthUser } from '../auth/auth-user';
import type { ClientToServerEvents, ServerToClientEvents } from '../contracts';

export interface SocketData {
  user: AuthUser;
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
