import type { Socket } from 'socket.io';

/**
 * The parts of a socket's Engine.IO connection, and of its ws WebSocket, that the edge reads and
 * that are not in their public types: the slow-consumer sweep (what is queued) and the frame
 * fan-out (whether a frame written now would be the socket's next bytes). Engine.IO reads the
 * same fields itself; the names hold for the versions in package-lock.json.
 */
export interface EngineConnection {
  readyState?: string;
  /** Packets Engine.IO holds while its transport is busy. */
  writeBuffer?: ReadonlyArray<{ data?: unknown }>;
  transport?: {
    name?: string;
    /** False from a write until its callback: Engine.IO queues meanwhile. */
    writable?: boolean;
    perMessageDeflate?: unknown;
    /** The ws WebSocket, on the WebSocket transport. */
    socket?: {
      readyState?: number;
      bufferedAmount?: number;
      terminate?: () => void;
      _sender?: { sendFrame?: (frame: readonly Buffer[], cb?: () => void) => void };
    };
  };
  close(discard?: boolean): void;
}

/** A Socket.IO socket's Engine.IO connection, as the fields above. */
export function engineOf(socket: Socket): EngineConnection {
  return socket.conn as unknown as EngineConnection;
}
