import type { Socket } from 'socket.io';
import { engineOf } from './engine-internals';

/** Past this many bytes waiting to be sent to one socket, it is not keeping up. */
export const SOCKET_MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * Bytes queued for a socket and not yet handed to the kernel: packets Engine.IO holds while
 * the transport is busy, plus what the WebSocket library has buffered. Socket.IO puts no cap on
 * either, so a client that stops reading would grow them without bound.
 */
export function bufferedBytes(socket: Socket): number {
  const conn = engineOf(socket);
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
  for (const packet of conn.writeBuffer ?? []) {
    bytes +=
      typeof packet.data === 'string'
        ? packet.data.length
        : Buffer.isBuffer(packet.data)
          ? packet.data.length
          : 16;
  }
  return bytes;
}

/** Drops the connection at once, discarding what is queued (a stalled peer would never take it). */
export function dropConnection(socket: Socket): void {
  const conn = engineOf(socket);
  conn.transport?.socket?.terminate?.();
  conn.close(true);
}
