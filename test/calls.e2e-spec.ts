import { createHmac } from 'node:crypto';
import type { CallView, IceServersView } from '../src/contracts';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { createGroupRoom, http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { publish } from './helpers/publish';
import { ask, askUntyped, connectSocket, EventLog, type ClientSocket } from './helpers/socket';

const TURN_SECRET = 'turn-shared-secret-0123456789';
const env = {
  STUN_URLS: 'stun:127.0.0.1:3478',
  TURN_URLS: 'turn:127.0.0.1:3478?transport=udp',
  TURN_SECRET,
  TURN_TTL_SECONDS: '600',
  CALL_SIGNALS_PER_SECOND: '20',
};

type Err = { ok: false; error: { code: string; message: string } };
const code = (ack: { ok: boolean }): string => (ack.ok ? 'ok' : (ack as Err).error.code);

/** Calls across two real instances sharing Postgres and Redis. */
describe('calls: WebRTC signalling', () => {
  let db: TestDatabase;
  let one: Instance;
  let two: Instance;
  const sockets: ClientSocket[] = [];

  const connect = async (instance: Instance, user: Registered): Promise<ClientSocket> => {
    const s = await connectSocket(instance.url, user.token);
    sockets.push(s);
    return s;
  };

  /** Alice on instance one, Bob on two, Carol (a member with no socket) and a room of the three. */
  async function scene(): Promise<{
    alice: Registered;
    bob: Registered;
    carol: Registered;
    roomId: string;
    sa: ClientSocket;
    sb: ClientSocket;
  }> {
    const [alice, bob, carol] = await Promise.all([
      registerUser(one.url, 'ca'),
      registerUser(one.url, 'cb'),
      registerUser(one.url, 'cc'),
    ]);
    const room = await createGroupRoom(one.url, alice, [bob, carol], 'call room');
    const [sa, sb] = await Promise.all([connect(one, alice), connect(two, bob)]);
    return { alice, bob, carol, roomId: room.body.id, sa, sb };
  }

  beforeAll(async () => {
    db = await createTestDatabase('calls');
    const prefix = uniquePrefix('calls');
    [one, two] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
    ]);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await db?.drop();
  });

  it('runs a whole call across instances: ring, join, offer/answer/candidates, leave, end', async () => {
    const { alice, bob, carol, roomId, sa, sb } = await scene();
    const sb2 = await connect(one, bob); // Bob's second tab, on the other instance
    const sc = await connect(two, carol);
    const rings = [sb, sb2, sc].map((s) => new EventLog(s, 'call:ring'));
    const aliceRing = new EventLog(sa, 'call:ring');

    const started = await ask(sa, 'call:start', { roomId });
    if (!started.ok) throw new Error(JSON.stringify(started));
    const call = started.call;
    expect(call).toMatchObject({ roomId, startedBy: alice.user.id, participants: [alice.user.id] });
    expect(call.endedAt).toBeNull();
    for (const ring of rings) expect((await ring.waitForCount(1))[0].call.id).toBe(call.id);
    expect(aliceRing.items).toEqual([]);

    // One live call per room: starting again returns it, and rings nobody again.
    const again = await ask(sc, 'call:start', { roomId });
    expect(again.ok && again.call.id).toBe(call.id);

    const joinedLog = new EventLog(sa, 'call:joined');
    const joined = await ask(sb, 'call:join', { callId: call.id });
    if (!joined.ok) throw new Error(JSON.stringify(joined));
    expect(new Set(joined.call.participants)).toEqual(new Set([alice.user.id, bob.user.id]));
    expect(joined.iceServers.map((s) => s.urls)).toEqual([
      ['stun:127.0.0.1:3478'],
      ['turn:127.0.0.1:3478?transport=udp'],
    ]);
    expect(await joinedLog.waitForCount(1)).toEqual([{ callId: call.id, userId: bob.user.id }]);

    // Signals reach the target's sockets that joined the call, with the sender as `from`.
    const atBob = new EventLog(sb, 'call:signal');
    const atBobTab2 = new EventLog(sb2, 'call:signal');
    const atAlice = new EventLog(sa, 'call:signal');
    const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n';
    expect(
      code(await ask(sa, 'call:signal', { callId: call.id, to: bob.user.id, type: 'offer', sdp })),
    ).toBe('ok');
    const candidate = {
      candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
    };
    expect(
      code(
        await ask(sa, 'call:signal', {
          callId: call.id,
          to: bob.user.id,
          type: 'candidate',
          candidate,
        }),
      ),
    ).toBe('ok');
    expect(await atBob.waitForCount(2)).toEqual([
      { callId: call.id, from: alice.user.id, type: 'offer', sdp },
      { callId: call.id, from: alice.user.id, type: 'candidate', candidate },
    ]);
    expect(
      code(
        await ask(sb, 'call:signal', {
          callId: call.id,
          to: alice.user.id,
          type: 'answer',
          sdp: 'v=0\r\n',
        }),
      ),
    ).toBe('ok');
    expect((await atAlice.waitForCount(1))[0]).toEqual({
      callId: call.id,
      from: bob.user.id,
      type: 'answer',
      sdp: 'v=0\r\n',
    });
    expect(atBobTab2.items).toEqual([]); // that tab never joined the call

    const leftLog = new EventLog(sa, 'call:left');
    const ended = [sa, sb, sb2, sc].map((s) => new EventLog(s, 'call:ended'));
    expect(code(await ask(sb, 'call:leave', { callId: call.id }))).toBe('ok');
    expect(await leftLog.waitForCount(1)).toEqual([{ callId: call.id, userId: bob.user.id }]);
    expect(code(await ask(sa, 'call:leave', { callId: call.id }))).toBe('ok');
    for (const log of ended) expect(await log.waitForCount(1)).toEqual([{ callId: call.id }]);

    const stored = await http<CallView>(two.url, `/api/calls/${call.id}`, { token: carol.token });
    expect(stored.status).toBe(200);
    expect(stored.body.endedAt).not.toBeNull();
    expect(stored.body.participants).toEqual([alice.user.id, bob.user.id]);
    const list = await http<{ items: CallView[] }>(one.url, `/api/rooms/${roomId}/calls`, {
      token: bob.token,
    });
    expect(list.body.items.map((c) => c.id)).toEqual([call.id]);
    // A new call can start once the last one ended.
    const next = await ask(sb, 'call:start', { roomId });
    expect(next.ok && next.call.id).not.toBe(call.id);
  });

  it('refuses non-members, signals before joining, to non-participants, forged from, big payloads and floods', async () => {
    const { bob, carol, roomId, sa, sb } = await scene();
    const mallory = await registerUser(one.url, 'cm');
    const sm = await connect(two, mallory);
    expect(code(await ask(sm, 'call:start', { roomId }))).toBe('FORBIDDEN');
    const started = await ask(sa, 'call:start', { roomId });
    if (!started.ok) throw new Error(JSON.stringify(started));
    const callId = started.call.id;
    expect(code(await ask(sm, 'call:join', { callId }))).toBe('FORBIDDEN');
    expect((await http(one.url, `/api/calls/${callId}`, { token: mallory.token })).status).toBe(
      403,
    );
    expect(
      code(await ask(sm, 'call:join', { callId: '00000000-0000-4000-8000-000000000000' })),
    ).toBe('NOT_FOUND');
    expect(code(await ask(sm, 'call:join', { callId: 'nope' }))).toBe('VALIDATION');

    // Bob has not joined: he may not signal, and nobody may signal to him.
    expect(
      code(
        await ask(sb, 'call:signal', {
          callId,
          to: started.call.startedBy,
          type: 'offer',
          sdp: 'x',
        }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      code(await ask(sa, 'call:signal', { callId, to: bob.user.id, type: 'offer', sdp: 'x' })),
    ).toBe('FORBIDDEN');
    expect(
      code(await ask(sa, 'call:signal', { callId, to: carol.user.id, type: 'offer', sdp: 'x' })),
    ).toBe('FORBIDDEN');

    expect(code(await ask(sb, 'call:join', { callId }))).toBe('ok');
    const atBob = new EventLog(sb, 'call:signal');
    // `from` is never taken from the payload: a payload naming one is refused.
    expect(
      code(
        await askUntyped(sa, 'call:signal', {
          callId,
          to: bob.user.id,
          type: 'offer',
          sdp: 'x',
          from: carol.user.id,
        }),
      ),
    ).toBe('VALIDATION');
    expect(
      code(
        await ask(sa, 'call:signal', {
          callId,
          to: bob.user.id,
          type: 'offer',
          sdp: 'é'.repeat(8193),
        }),
      ),
    ).toBe('VALIDATION');
    expect(
      code(
        await ask(sa, 'call:signal', {
          callId,
          to: bob.user.id,
          type: 'candidate',
          // Each field within its own limit, the whole past 2 KiB.
          candidate: { candidate: 'c'.repeat(2000), sdpMid: 'm'.repeat(200) },
        }),
      ),
    ).toBe('VALIDATION');
    expect(code(await ask(sa, 'call:signal', { callId, to: bob.user.id, type: 'offer' }))).toBe(
      'VALIDATION',
    );
    expect(
      code(
        await askUntyped(sa, 'call:signal', { callId, to: bob.user.id, type: 'hangup', sdp: 'x' }),
      ),
    ).toBe('VALIDATION');

    // A candidate flood: past 20 a second the rest are refused and never reach Bob.
    const acks = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        ask(sa, 'call:signal', {
          callId,
          to: bob.user.id,
          type: 'candidate',
          candidate: { candidate: `c${i}` },
        }),
      ),
    );
    const okCount = acks.filter((a) => a.ok).length;
    expect(acks.filter((a) => code(a) === 'RATE_LIMITED').length).toBe(60 - okCount);
    expect(okCount).toBeLessThanOrEqual(20);
    expect(okCount).toBeGreaterThan(0);
    // A notification to Bob published after the acks travels on the same channel as the signals,
    // so once it arrived every accepted signal has too, and no refused one can follow.
    const notified = new EventLog(sb, 'notification');
    await publish(one.url, { userIds: [bob.user.id], title: 'after the flood' });
    await notified.waitForCount(1);
    expect(atBob.items.length).toBe(okCount);
    expect(new Set(atBob.items.map((x) => x.from))).toEqual(new Set([started.call.startedBy]));
  });

  it('tells the others once when two sockets of one user join at the same moment', async () => {
    const { alice, bob, roomId, sa, sb } = await scene();
    const sb2 = await connect(one, bob);
    const started = await ask(sa, 'call:start', { roomId });
    if (!started.ok) throw new Error(JSON.stringify(started));
    const joined = new EventLog(sa, 'call:joined');
    const acks = await Promise.all([
      ask(sb, 'call:join', { callId: started.call.id }),
      ask(sb2, 'call:join', { callId: started.call.id }),
    ]);
    expect(acks.map(code)).toEqual(['ok', 'ok']);
    // A notification to Alice after the joins travels on her channel behind any call:joined.
    const notified = new EventLog(sa, 'notification');
    await publish(two.url, { userIds: [alice.user.id], title: 'after the joins' });
    await publish(one.url, { userIds: [alice.user.id], title: 'after the joins, too' });
    await notified.waitForCount(2);
    expect(joined.items).toEqual([{ callId: started.call.id, userId: bob.user.id }]);
  });

  it("treats a participant's dying socket as a leave, and ends the call when the last one goes", async () => {
    const { alice, bob, roomId, sa, sb } = await scene();
    const started = await ask(sa, 'call:start', { roomId });
    if (!started.ok) throw new Error(JSON.stringify(started));
    const callId = started.call.id;
    expect(code(await ask(sb, 'call:join', { callId }))).toBe('ok');
    const left = new EventLog(sa, 'call:left');
    sb.disconnect();
    expect(await left.waitForCount(1)).toEqual([{ callId, userId: bob.user.id }]);
    const bobElsewhere = await connect(one, bob);
    const ended = new EventLog(bobElsewhere, 'call:ended');
    sa.disconnect();
    expect(await ended.waitForCount(1)).toEqual([{ callId }]);
    const stored = await http<CallView>(one.url, `/api/calls/${callId}`, { token: alice.token });
    expect(stored.body.endedAt).not.toBeNull();
  });

  it('hands out TURN REST credentials: "<expiry>:<userId>" signed with HMAC-SHA1 of TURN_SECRET', async () => {
    const u = await registerUser(two.url, 'ci');
    const before = Math.floor(Date.now() / 1000);
    const res = await http<IceServersView>(two.url, '/api/rtc/ice-servers', { token: u.token });
    expect(res.status).toBe(200);
    expect(res.body.ttlSeconds).toBe(600);
    const [stun, turn] = res.body.iceServers;
    expect(stun).toEqual({ urls: ['stun:127.0.0.1:3478'] });
    const [expiry, userId] = (turn.username ?? '').split(':');
    expect(userId).toBe(u.user.id);
    expect(Number(expiry) - before).toBeGreaterThanOrEqual(600);
    expect(Number(expiry) - before).toBeLessThanOrEqual(602);
    expect(turn.credential).toBe(
      createHmac('sha1', TURN_SECRET)
        .update(turn.username ?? '')
        .digest('base64'),
    );
    expect((await http(two.url, '/api/rtc/ice-servers')).status).toBe(401);
  });
});

describe('calls: nobody answers', () => {
  let db: TestDatabase;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('callring');
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('ends a call nobody joined after CALL_RING_TIMEOUT_MS, even when the instance that started it died', async () => {
    const prefix = uniquePrefix('callring');
    const ringEnv = { CALL_RING_TIMEOUT_MS: '1500' };
    const [starter, survivor] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env: ringEnv }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env: ringEnv }),
    ]);
    try {
      const [alice, bob] = await Promise.all([
        registerUser(starter.url),
        registerUser(starter.url),
      ]);
      const room = await createGroupRoom(starter.url, alice, [bob]);
      const sa = await connectSocket(starter.url, alice.token);
      const sb = await connectSocket(survivor.url, bob.token);
      sockets.push(sa, sb);
      const ring = new EventLog(sb, 'call:ring');
      const ended = new EventLog(sb, 'call:ended');
      const startedAt = Date.now();
      const started = await ask(sa, 'call:start', { roomId: room.body.id });
      if (!started.ok) throw new Error(JSON.stringify(started));
      await ring.waitForCount(1);
      await starter.stop('SIGKILL');
      expect(await ended.waitForCount(1, 10_000)).toEqual([{ callId: started.call.id }]);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1500);
      const stored = await http<CallView>(survivor.url, `/api/calls/${started.call.id}`, {
        token: bob.token,
      });
      expect(stored.body.endedAt).not.toBeNull();
      expect(stored.body.participants).toEqual([alice.user.id]);
    } finally {
      await Promise.all([starter.stop(), survivor.stop()]);
    }
  });
});
