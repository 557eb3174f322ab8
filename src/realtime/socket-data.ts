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
const identityRooms = (user: AuthUser): string[] =>
  user.sessionId === null
    ? [userRoom(user.userId)]
    : [userRoom(user.userId), sessionRoom(user.sessionId)];

/*
 * A login's sockets on one instance share its strings. Each socket decodes its ids from its own
 * token and would build its own room names: four strings, 240 bytes a socket, that every further
 * tab or overlapping reconnect of a login copied again. A socket takes them from another local
 * socket of the same login (its sibling), found through the login's room (the user's, for a token
 * with no login here), so nothing is kept to find it; a socket of another login, or one not yet
 * admitted, is never taken for one.
 */

/** The user, with the ids of a sibling socket of the same login if there is one. */
export function sharedUser(socket: AppSocket, user: AuthUser): AuthUser {
  const theirs = siblingOf(socket, user)?.data.user;
  // Only the ids are shared: the expiry is this socket's token's own.
  return theirs === undefined
    ? user
    : { userId: theirs.userId, sessionId: theirs.sessionId, expiresAt: user.expiresAt };
}

/** The names of the user's identity rooms, in the strings a sibling socket already holds. */
export function sharedRooms(socket: AppSocket, user: AuthUser): string[] {
  const rooms = identityRooms(user);
  const sibling = siblingOf(socket, user);
  return sibling === undefined ? rooms : rooms.map((name) => sameString(sibling.rooms, name));
}

/** Another admitted local socket of the same login, in the login's (else the user's) room. */
function siblingOf(socket: AppSocket, user: AuthUser): AppSocket | undefined {
  // Socket.IO types a socket's namespace without the socket data type; it is this socket's.
  const nsp = socket.nsp as AppNamespace;
  const room = user.sessionId === null ? userRoom(user.userId) : sessionRoom(user.sessionId);
  for (const id of nsp.adapter.rooms.get(room) ?? []) {
    const other = nsp.sockets.get(id);
    const theirs = (other?.data as Partial<SocketData> | undefined)?.user;
    if (other === undefined || theirs === undefined || other === socket) continue;
    if (theirs.userId === user.userId && theirs.sessionId === user.sessionId) return other;
  }
  return undefined;
}

/** The member of `names` equal to `name`, else `name` itself. */
function sameString(names: ReadonlySet<string>, name: string): string {
  for (const held of names) if (held === name) return held;
  return name;
}
