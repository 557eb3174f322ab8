import type { Socket } from 'socket.io';
import type { AuthUser } from '../auth/auth-user';

export interface SocketData {
  user: AuthUser;
}

export type AppSocket = Socket<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  SocketData
>;

/** Socket.IO room names: every socket joins its user's and its login's room. */
export const userRoom = (userId: string): string => `user:${userId}`;
export const sessionRoom = (sessionId: string): string => `session:${sessionId}`;
export const chatRoom = (roomId: string): string => `room:${roomId}`;
