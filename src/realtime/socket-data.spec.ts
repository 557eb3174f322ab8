import type { AuthUser } from '../auth/auth-user';
import { sessionRoom, sharedRooms, sharedUser, userRoom, type AppSocket } from './socket-data';

/** What a socket of `user` takes from the namespace: its user and its identity rooms. */
function sharedIdentity(socket: AppSocket, user: AuthUser): { user: AuthUser; rooms: string[] } {
  return { user: sharedUser(socket, user), rooms: sharedRooms(socket, user) };
}

const U = '11111111-1111-4111-8111-111111111111';
const S1 = '22222222-2222-4222-8222-222222222222';
const S2 = '33333333-3333-4333-8333-333333333333';

interface FakeSocket {
  id: string;
  rooms: Set<string>;
  data: { user?: AuthUser };
}

/** The two things of a namespace the lookup reads: the adapter's room index and its sockets. */
function namespaceOf(sockets: FakeSocket[]): AppSocket {
  const rooms = new Map<string, Set<string>>();
  for (const s of sockets)
    for (const room of s.rooms) rooms.set(room, (rooms.get(room) ?? new Set()).add(s.id));
  const nsp = { adapter: { rooms }, sockets: new Map(sockets.map((s) => [s.id, s])) };
  return { nsp } as unknown as AppSocket;
}

function joined(id: string, user: AuthUser | undefined, rooms: string[]): FakeSocket {
  return { id, rooms: new Set([id, ...rooms]), data: { user } };
}

describe('sharedUser and sharedRooms', () => {
  it('with no other socket of the login, is the user as decoded and its two rooms', () => {
    const user = { userId: U, sessionId: S1, expiresAt: 100 };
    const got = sharedIdentity(namespaceOf([]), user);
    expect(got.user).toBe(user);
    expect(got.rooms).toEqual([userRoom(U), sessionRoom(S1)]);
  });

  it("takes a sibling of the same login's ids, keeping this socket's own token expiry", () => {
    const sibling = joined('a', { userId: U, sessionId: S1, expiresAt: 50 }, [
      userRoom(U),
      sessionRoom(S1),
      'room:x',
    ]);
    const got = sharedIdentity(namespaceOf([sibling]), { userId: U, sessionId: S1, expiresAt: 90 });
    expect(got.user).toEqual({ userId: U, sessionId: S1, expiresAt: 90 });
    expect(got.rooms).toEqual([userRoom(U), sessionRoom(S1)]);
  });

  it("never takes another login's socket, nor one not yet admitted", () => {
    const otherLogin = joined('a', { userId: U, sessionId: S2, expiresAt: 50 }, [
      userRoom(U),
      sessionRoom(S2),
    ]);
    const unadmitted = joined('b', undefined, [userRoom(U), sessionRoom(S1)]);
    const user = { userId: U, sessionId: S1, expiresAt: 90 };
    const got = sharedIdentity(namespaceOf([otherLogin, unadmitted]), user);
    expect(got.user).toBe(user);
    expect(got.rooms).toEqual([userRoom(U), sessionRoom(S1)]);
  });

  it('for a token with no login here, looks in the user room and skips sockets that have one', () => {
    const withLogin = joined('a', { userId: U, sessionId: S1, expiresAt: 50 }, [
      userRoom(U),
      sessionRoom(S1),
    ]);
    const outside = joined('b', { userId: U, sessionId: null, expiresAt: 60 }, [userRoom(U)]);
    const got = sharedIdentity(namespaceOf([withLogin, outside]), {
      userId: U,
      sessionId: null,
      expiresAt: 70,
    });
    expect(got.user).toEqual({ userId: U, sessionId: null, expiresAt: 70 });
    expect(got.rooms).toEqual([userRoom(U)]);
  });
});
