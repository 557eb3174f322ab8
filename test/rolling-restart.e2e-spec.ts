import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { startScaled, type Nginx, type Scaled } from './helpers/nginx';
import { connectSocket, type ClientSocket } from './helpers/socket';
import { openResumableSse } from './helpers/sse';
import { waitUntil } from './helpers/wait';

/**
 * A rolling restart under live traffic, through nginx over four instances: each in turn gets
 * SIGTERM while clients chat and notifications stream, then comes back on the same port.
 * Nothing acknowledged is lost, every stream resumes, no stream client ever sees a 5xx.
 */
describe('rolling restart under traffic', () => {
  let db: TestDatabase;
  let prefix: string;
  let instances: Instance[];
  let lb: Nginx;
  let scaled: Scaled;
  let sender: Registered;
  let receiver: Registered;
  let roomId: string;

  beforeAll(async () => {
    db = await createTestDatabase('rolling');
    prefix = uniquePrefix('rolling');
    const env = { RATE_LIMIT_MESSAGES: '100000' };
    scaled = await startScaled(4, { databaseUrl: db.url, redisPrefix: prefix, env });
    ({ instances, lb } = scaled);
    [sender, receiver] = await Promise.all([registerUser(lb.url), registerUser(lb.url)]);
    roomId = (
      await http<{ id: string }>(lb.url, '/api/rooms', {
        token: sender.token,
        body: { name: 'r', memberIds: [receiver.user.id] },
      })
    ).body.id;
  }, 60_000);

  afterAll(async () => {
    await scaled?.stop();
    await db?.drop();
  });

  it('loses no acknowledged message and resumes every stream when an instance restarts', async () => {
    // Chat: a client that resends unacknowledged messages with the same clientMsgId, as a real one would.
    const socket: ClientSocket = await connectSocket(lb.url, sender.token, {
      transports: ['polling', 'websocket'],
      withCredentials: true,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
    });
    let stop = false;
    const acked = new Map<string, number>();
    const chat = (async () => {
      for (let i = 0; !stop || i % 1 !== 0; i++) {
        if (stop) break;
        const clientMsgId = `m${i}`;
        for (;;) {
          try {
            if (!socket.connected)
              await new Promise<void>((r) => socket.once('connect', () => r()));
            const ack = (await socket
              .timeout(3000)
              .emitWithAck('message:send', { roomId, body: `message ${i}`, clientMsgId })) as {
              ok: boolean;
              message?: { seq: number };
            };
            if (ack.ok && ack.message) {
              acked.set(clientMsgId, ack.message.seq);
              break;
            }
          } catch {
            // disconnected or timed out: send the same message again
          }
        }
      }
    })();

    // Notifications: an EventSource-like client through nginx, and a publisher.
    const sse = openResumableSse(`${lb.url}/api/notifications/stream?after=0`, {
      authorization: `Bearer ${receiver.token}`,
    });
    const published: number[] = [];
    const publisher = (async () => {
      for (let i = 0; !stop; i++) {
        const res = await http<{ created: number }>(lb.url, '/api/notifications', {
          apiKey: TEST_API_KEY,
          body: { userIds: [receiver.user.id], kind: 'system', title: `n${i}`, body: '' },
        }).catch(() => null);
        if (res?.status === 202) published.push(i);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await sse.waitFor((events) => events.length >= 10);
    await waitUntil(() => acked.size >= 20);

    // The rolling restart: each instance in turn, back on its port, as a Deployment or
    // `docker compose up --scale` replaces them; every client is hit at least once.
    for (const [n, instance] of instances.entries()) {
      const stoppedAt = Date.now();
      const { code } = await instance.stop('SIGTERM');
      expect(code).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
      expect(instance.output()).toMatch(/SIGTERM: draining/);
      const sentBefore = acked.size;
      const eventsBefore = sse.events.length;
      instances[n] = await startInstance({
        databaseUrl: db.url,
        redisPrefix: prefix,
        id: instance.id,
        env: { PORT: String(instance.port), RATE_LIMIT_MESSAGES: '100000' },
      });
      await waitUntil(() => acked.size >= sentBefore + 20);
      await sse.waitFor((events) => events.length >= eventsBefore + 10);
    }
    stop = true;
    await Promise.all([chat, publisher]);
    socket.close();

    // Every acknowledged message is stored exactly once, with gapless seqs.
    const rows = await query<{ client_msg_id: string; seq: string }>(
      db.url,
      'SELECT client_msg_id, seq FROM messages WHERE room_id = $1 ORDER BY seq',
      [roomId],
    );
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    expect(new Set(rows.map((r) => r.client_msg_id)).size).toBe(rows.length);
    for (const [clientMsgId, seq] of acked)
      expect(rows.find((r) => r.client_msg_id === clientMsgId)?.seq).toBe(String(seq));

    // Every published notification reached the stream once, in order, across reconnects.
    await sse.waitFor((events) => events.length >= published.length);
    sse.close();
    const seqs = sse.events.filter((e) => e.event === 'notification').map((e) => Number(e.id));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(seqs.length).toBe(published.length);
    expect(sse.reconnects).toBeGreaterThanOrEqual(1);
    expect(sse.statuses.filter((s) => s >= 500)).toEqual([]);
  }, 150_000);
});
