/**
 * The bare Socket.IO peer: a plain Socket.IO server with the service's transport settings that
 * authenticates nothing and persists nothing. It answers the same events the load client sends
 * the service (`room:join`, `message:send`) and broadcasts a message object of the same shape,
 * so the wire work per delivery is the same. With REDIS_URL set it runs across processes with
 * `@socket.io/redis-adapter`, the usual way to scale Socket.IO out.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 0);
const http = createServer((_req, res) => {
  res.statusCode = 404;
  res.end();
});
const io = new Server(http, {
  path: '/socket.io',
  maxHttpBufferSize: 64 * 1024,
  pingInterval: 20_000,
  pingTimeout: 20_000,
});
if (process.env.REDIS_URL !== undefined) {
  const pub = new Redis(process.env.REDIS_URL);
  io.adapter(createAdapter(pub, pub.duplicate(), { key: process.env.ADAPTER_KEY ?? 'bench' }));
}

let seq = 0;
type Ack = (response: unknown) => void;

/**
 * The sender a message names: the user id a client gives in its handshake's auth (the benches
 * give a UUID, as long as the service's user ids, so both put the same bytes on the wire), else
 * the socket's id. Read per send, so that an idle socket holds nothing more for it.
 */
function senderIdOf(socket: { id: string; handshake: { auth: Record<string, unknown> } }): string {
  const { userId } = socket.handshake.auth;
  return typeof userId === 'string' ? userId : socket.id;
}

io.on('connection', (socket) => {
  // The in-process adapter joins synchronously.
  Promise.resolve(socket.join(`user:${socket.id}`)).catch(() => undefined);
  socket.on('room:join', (payload: { roomId: string }, ack: Ack) => {
    Promise.resolve(socket.join(payload.roomId)).catch(() => undefined);
    ack({ ok: true, room: { id: payload.roomId }, lastSeq: seq });
  });
  socket.on('message:send', (payload: { roomId: string; body: string }, ack: Ack) => {
    const message = {
      id: randomUUID(),
      roomId: payload.roomId,
      seq: ++seq,
      senderId: senderIdOf(socket),
      body: payload.body,
      clientMsgId: null,
      createdAt: new Date().toISOString(),
    };
    io.to(payload.roomId).emit('message', message);
    ack({ ok: true, message });
  });
});
http.listen(port, '127.0.0.1', () => {
  const address = http.address();
  console.log(
    `listening on port ${typeof address === 'object' && address !== null ? address.port : port}`,
  );
});
// Exit normally on SIGTERM, so that BENCH_PROFILE_DIR's CPU profile is written as the service's is.
process.once('SIGTERM', () => process.exit(0));
