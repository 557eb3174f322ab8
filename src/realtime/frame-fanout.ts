import * as ws from 'ws';
import type { ServerToClientEvents } from '../contracts';
import { engineOf } from './engine-internals';
import type { AppNamespace, AppSocket } from './socket-data';

/** An event the contract lets the server emit, and its arguments. */
export type ServerEvent = keyof ServerToClientEvents;
export type ServerArgs<E extends ServerEvent> = Parameters<ServerToClientEvents[E]>;

/**
 * An emit to many sockets written as one WebSocket frame, built once, straight to each idle
 * socket's WebSocket sender. Socket.IO's own broadcast also builds the frame once, but then hands
 * it to every socket through Engine.IO's queue: a packet object, a new write buffer, six events
 * and a send callback per socket per message. Collecting that garbage was the second-largest cost
 * of a broadcast to 10,000 sockets, and going around the queue cut the broadcast's CPU by a third
 * (docs/benchmarks.md). A socket whose Engine.IO connection is not idle (a write in flight,
 * packets queued, still on HTTP long-polling, closing) gets the emit through Socket.IO as usual,
 * so that it stays behind what is already queued for it: the order a socket receives in is never
 * changed.
 *
 * It reads Engine.IO and ws state that is not in their types (engine-internals.ts), as Engine.IO
 * itself does to write a pre-built frame (its WebSocket transport's `_canSendPreEncodedFrame`).
 * frame-fanout.spec.ts checks that the frame is the one Socket.IO's
 * adapter builds; every socket test receives it through socket.io-client.
 */

/** ws' frame builder; ws exports its Sender class without types for it. */
const Sender = (
  ws as unknown as {
    Sender: {
      frame(
        data: Buffer,
        options: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean },
      ): Buffer[];
    };
  }
).Sender;

/**
 * Socket.IO's emit, untyped: the contract's event types are checked by the callers; here an event
 * is a name and its arguments.
 */
interface UntypedEmitter {
  emit(event: string, ...args: unknown[]): unknown;
}

interface FrameSender {
  sendFrame(frame: readonly Buffer[], cb?: () => void): void;
}

const WS_OPEN = 1;
/** Engine.IO's packet type for a message: its frame is "4" then the Socket.IO packet. */
const ENGINE_MESSAGE = '4';
/** Socket.IO protocol 5's EVENT packet type. */
const SOCKET_IO_EVENT = 2;

/** The socket's ws sender if a frame written to it now would be its next bytes, else undefined. */
function idleSender(socket: AppSocket): FrameSender | undefined {
  if (!socket.connected) return undefined;
  const conn = engineOf(socket);
  const transport = conn.transport;
  if (conn.readyState !== 'open' || transport?.name !== 'websocket') return undefined;
  // Writable means Engine.IO's last write has been handed to the kernel or to the socket's
  // stream buffer, in order; an empty write buffer means nothing is waiting behind it.
  if (transport.writable !== true || (conn.writeBuffer?.length ?? 0) > 0) return undefined;
  // Compressed frames are built per socket; ours is not.
  if (transport.perMessageDeflate) return undefined;
  const webSocket = transport.socket;
  const sender = webSocket?._sender;
  if (webSocket?.readyState !== WS_OPEN || typeof sender?.sendFrame !== 'function')
    return undefined;
  return sender as FrameSender;
}

/** Emits `event` with `args` to every socket of `room` in the namespace. */
export function emitToRoom<E extends ServerEvent>(
  nsp: AppNamespace,
  room: string,
  event: E,
  args: ServerArgs<E>,
): void {
  const ids = nsp.adapter.rooms.get(room);
  if (ids === undefined || ids.size === 0) return;
  const frame = buildFrame(nsp, event, args);
  if (frame === null) return socketIoEmit(nsp, [room], event, args);
  let busy: string[] | undefined;
  for (const id of ids) {
    const socket = nsp.sockets.get(id);
    const sender = socket !== undefined ? idleSender(socket) : undefined;
    if (sender !== undefined) sender.sendFrame(frame);
    else (busy ??= []).push(id);
  }
  // Each socket id is also the name of a room of that one socket.
  if (busy !== undefined) socketIoEmit(nsp, busy, event, args);
}

/**
 * Emits `event` with `args` to each of `sockets` (a user's, as notifications keep them), with the
 * same frame for every idle one. A socket not connected yet (admitted, its CONNECT not yet sent)
 * or not idle gets it through its own emit, which Socket.IO queues in order; its client takes
 * events only after CONNECT. One socket whose write throws does not keep the event from the
 * others: the first failure is thrown once every socket was tried.
 */
export function emitToSockets<E extends ServerEvent>(
  sockets: Iterable<AppSocket>,
  event: E,
  args: ServerArgs<E>,
): void {
  let frame: Buffer[] | null | undefined;
  let failure: { err: unknown } | undefined;
  for (const socket of sockets) {
    try {
      const sender = idleSender(socket);
      if (sender !== undefined) {
        frame ??= buildFrame(socket.nsp as AppNamespace, event, args);
        if (frame !== null) {
          sender.sendFrame(frame);
          continue;
        }
      }
      (socket as unknown as UntypedEmitter).emit(event, ...args);
    } catch (err) {
      failure ??= { err };
    }
  }
  if (failure !== undefined) throw failure.err;
}

/**
 * The Socket.IO packet as one text WebSocket frame, exactly as Socket.IO's adapter builds it for
 * a broadcast; null for a packet that is not one text frame (binary attachments).
 */
function buildFrame(nsp: AppNamespace, event: string, args: readonly unknown[]): Buffer[] | null {
  const encoded: unknown[] = nsp.server.encoder.encode({
    type: SOCKET_IO_EVENT,
    nsp: nsp.name,
    data: [event, ...args],
  });
  if (encoded.length !== 1 || typeof encoded[0] !== 'string') return null;
  return Sender.frame(Buffer.from(ENGINE_MESSAGE + encoded[0]), {
    readOnly: false,
    mask: false,
    rsv1: false,
    opcode: 1,
    fin: true,
  });
}

function socketIoEmit(
  nsp: AppNamespace,
  rooms: string[],
  event: string,
  args: readonly unknown[],
): void {
  (nsp.to(rooms) as unknown as UntypedEmitter).emit(event, ...args);
}
