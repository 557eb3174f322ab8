import type { Namespace, Server, Socket } from 'socket.io';
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
  /** Notifications': among the user's sockets that notifications are written to. */
  notified?: boolean;
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
export type AppNamespace = Namespace<
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

/** The rooms a socket of this user joins: its user's, and its login's when it has one here. */
export const identityRooms = (user: AuthUser): string[] =>
  user.sessionId === null
    ? [userRoom(user.userId)]
    : [userRoom(user.userId), sessionRoom(user.sessionId)];

/** A socket's user and identity rooms, in string instances another socket may already hold. */
export interface SocketIdentity {
  user: AuthUser;
  rooms: string[];
}

/**
 * The user, and the names of its identity rooms, in the very strings another local socket of the
 * same login already holds, if there is one. Each socket decodes its ids from its own token and
 * would build its own room names: four strings, 240 bytes a socket, that every further tab or
 * overlapping reconnect of a login copied again. The sibling is found through the login's room
 * (the user's, for a token with no login here), so nothing is kept to find it; a socket of
 * another login, or one not yet admitted, is never taken for one.
 */
export function sharedIdentity(socket: AppSocket, user: AuthUser): SocketIdentity {
  // Socket.IO types a socket's namespace without the socket data type; it is this socket's.
  const nsp = socket.nsp as AppNamespace;
  const rooms = identityRooms(user);
  const members = nsp.adapter.rooms.get(rooms[rooms.length - 1]);
  for (const id of members ?? []) {
    const other = nsp.sockets.get(id);
    const theirs = (other?.data as Partial<SocketData> | undefined)?.user;
    if (other === undefined || theirs === undefined) continue;
    if (theirs.userId !== user.userId || theirs.sessionId !== user.sessionId) continue;
    return {
      // Only the ids are shared: the expiry is this socket's token's own.
      user: { userId: theirs.userId, sessionId: theirs.sessionId, expiresAt: user.expiresAt },
      rooms: rooms.map((name) => sameString(other.rooms, name)),
    };
  }
  return { user, rooms };
}

/** The member of `names` equal to `name`, else `name` itself. */
function sameString(names: ReadonlySet<string>, name: string): string {
  for (const held of names) if (held === name) return held;
  return name;
}
