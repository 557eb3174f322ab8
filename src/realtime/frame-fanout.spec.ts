import { Server } from 'socket.io';
import type { MessageView, NotificationView } from '../contracts';
import { emitToRoom, emitToSockets } from './frame-fanout';
import type { AppNamespace, AppSocket } from './socket-data';

type SendFrame = jest.Mock<(frame: readonly Buffer[], cb?: () => void) => void>;

interface FakeConn {
  readyState: string;
  writeBuffer: unknown[];
  transport: {
    name: string;
    writable: boolean;
    perMessageDeflate: unknown;
    socket: { readyState: number; _sender: { sendFrame: SendFrame } };
  };
}

interface FakeSocket {
  id: string;
  connected: boolean;
  conn: FakeConn;
}

/** A socket whose Engine.IO connection is open on WebSocket with nothing in flight. */
function idleSocket(id: string): FakeSocket {
  return {
    id,
    connected: true,
    conn: {
      readyState: 'open',
      writeBuffer: [],
      transport: {
        name: 'websocket',
        writable: true,
        perMessageDeflate: false,
        socket: { readyState: 1, _sender: { sendFrame: jest.fn() as SendFrame } },
      },
    },
  };
}

const sendFrame = (s: FakeSocket): SendFrame => s.conn.transport.socket._sender.sendFrame;

/** The frame the socket's first sendFrame call was given. */
function firstFrame(s: FakeSocket): readonly Buffer[] | undefined {
  return (sendFrame(s).mock.calls as Array<[readonly Buffer[]]>)[0]?.[0];
}

/** A real Socket.IO namespace (its encoder and adapter), holding the fake sockets in one room. */
function roomOf(sockets: FakeSocket[]): {
  nsp: AppNamespace;
  emit: jest.Mock;
  to: jest.SpyInstance;
} {
  const io = new Server();
  const nsp = io.of('/') as unknown as AppNamespace;
  const map = nsp.sockets as unknown as Map<string, FakeSocket>;
  for (const s of sockets) map.set(s.id, s);
  nsp.adapter.rooms.set('room:r', new Set(sockets.map((s) => s.id)));
  const emit = jest.fn();
  const to = jest.spyOn(nsp, 'to').mockReturnValue({ emit } as never);
  return { nsp, emit, to };
}

/** The frame Socket.IO's own adapter builds for a broadcast of the same packet. */
function socketIoFrame(nsp: AppNamespace, data: unknown[]): Buffer {
  const opts: { wsPreEncodedFrame?: Buffer[] } = {};
  (nsp.adapter as unknown as { _encode(packet: unknown, opts: unknown): unknown })._encode(
    { type: 2, nsp: '/', data },
    opts,
  );
  return Buffer.concat(opts.wsPreEncodedFrame ?? []);
}

describe('emitToRoom', () => {
  const message: MessageView = {
    id: 'm1',
    roomId: 'r',
    seq: 7,
    senderId: 'u',
    body: 'héllo "there"\n',
    clientMsgId: null,
    createdAt: '2026-12-03T00:00:00.000Z',
  };

  it("writes Socket.IO's own broadcast frame, built once, to every idle WebSocket", () => {
    const sockets = [idleSocket('a'), idleSocket('b')];
    const { nsp, to } = roomOf(sockets);
    emitToRoom(nsp, 'room:r', 'message', [message]);
    const expected = socketIoFrame(nsp, ['message', message]);
    for (const s of sockets) {
      expect(sendFrame(s)).toHaveBeenCalledTimes(1);
      expect(Buffer.concat(firstFrame(s) ?? [])).toEqual(expected);
    }
    // The same frame object for both: encoded once.
    expect(firstFrame(sockets[0])).toBe(firstFrame(sockets[1]));
    expect(to).not.toHaveBeenCalled();
  });

  it('hands every socket that is not idle to Socket.IO, behind what it already queued', () => {
    const idle = idleSocket('idle');
    const inFlight = idleSocket('in-flight');
    inFlight.conn.transport.writable = false;
    const queued = idleSocket('queued');
    queued.conn.writeBuffer.push({ type: 'message', data: 'x' });
    const polling = idleSocket('polling');
    polling.conn.transport.name = 'polling';
    const closing = idleSocket('closing');
    closing.conn.readyState = 'closing';
    const wsClosed = idleSocket('ws-closed');
    wsClosed.conn.transport.socket.readyState = 2;
    const deflating = idleSocket('deflating');
    deflating.conn.transport.perMessageDeflate = { threshold: 1024 };
    const notConnected = idleSocket('not-connected');
    notConnected.connected = false;
    const others = [inFlight, queued, polling, closing, wsClosed, deflating, notConnected];
    const { nsp, to, emit } = roomOf([idle, ...others]);
    emitToRoom(nsp, 'room:r', 'message', [message]);
    expect(sendFrame(idle)).toHaveBeenCalledTimes(1);
    for (const s of others) expect(sendFrame(s)).not.toHaveBeenCalled();
    expect(to).toHaveBeenCalledTimes(1);
    expect(to).toHaveBeenCalledWith(others.map((s) => s.id));
    expect(emit).toHaveBeenCalledWith('message', message);
  });

  it('sends a packet with binary data through Socket.IO to the whole room', () => {
    const s = idleSocket('a');
    const { nsp, to, emit } = roomOf([s]);
    // No event of the contract carries binary; the path is there should one ever do.
    const binary = { ...message, body: Buffer.from([1, 2, 3]) } as unknown as MessageView;
    emitToRoom(nsp, 'room:r', 'message', [binary]);
    expect(sendFrame(s)).not.toHaveBeenCalled();
    expect(to).toHaveBeenCalledWith(['room:r']);
    expect(emit).toHaveBeenCalledWith('message', binary);
  });

  it('does nothing for a room with no socket here', () => {
    const { nsp, to } = roomOf([]);
    emitToRoom(nsp, 'room:none', 'message', [message]);
    expect(to).not.toHaveBeenCalled();
  });
});

describe('emitToSockets', () => {
  const notification = {
    id: 'n1',
    seq: 3,
    kind: 'alert',
    title: 't',
    body: 'b',
    data: null,
    readAt: null,
    createdAt: '2026-12-03T00:00:00.000Z',
  } as unknown as NotificationView;

  /** Fake sockets of one real namespace, each with its own emit. */
  function socketsOf(ids: string[]): {
    nsp: AppNamespace;
    sockets: Array<FakeSocket & { nsp: AppNamespace; emit: jest.Mock }>;
  } {
    const nsp = new Server().of('/') as unknown as AppNamespace;
    return { nsp, sockets: ids.map((id) => ({ ...idleSocket(id), nsp, emit: jest.fn() })) };
  }
  const asSockets = (s: unknown[]): AppSocket[] => s as AppSocket[];

  it('writes one frame to each idle socket, and emits to one not connected yet', () => {
    const { nsp, sockets } = socketsOf(['a', 'b', 'pending']);
    sockets[2].connected = false;
    emitToSockets(asSockets(sockets), 'notification', [notification]);
    const expected = socketIoFrame(nsp, ['notification', notification]);
    for (const s of sockets.slice(0, 2)) {
      expect(Buffer.concat(firstFrame(s) ?? [])).toEqual(expected);
      expect(s.emit).not.toHaveBeenCalled();
    }
    expect(firstFrame(sockets[0])).toBe(firstFrame(sockets[1]));
    expect(sendFrame(sockets[2])).not.toHaveBeenCalled();
    expect(sockets[2].emit).toHaveBeenCalledWith('notification', notification);
  });

  it('still writes to the others when one throws, then throws its error', () => {
    const { sockets } = socketsOf(['a', 'broken', 'c']);
    const broken = new Error('write after end');
    sendFrame(sockets[1]).mockImplementation(() => {
      throw broken;
    });
    expect(() => emitToSockets(asSockets(sockets), 'notification', [notification])).toThrow(broken);
    expect(sendFrame(sockets[0])).toHaveBeenCalledTimes(1);
    expect(sendFrame(sockets[2])).toHaveBeenCalledTimes(1);
  });
});
