import type { Ack } from './ack.contract';
import type {
  CallMemberEvent,
  CallRef,
  CallRingEvent,
  CallView,
  IceServer,
  SignalEvent,
  SignalPayload,
} from './calls.contract';
import type { MessageView, PresenceEvent, ReadEvent, RoomView, TypingEvent } from './chat.contract';
import type { NotificationView } from './notifications.contract';

export interface RoomRef {
  roomId: string;
}

export interface SendPayload {
  roomId: string;
  /** 1-4000 code points after trimming. */
  body: string;
  /** 1-64 characters; a repeat returns the first message instead of storing another. */
  clientMsgId?: string;
}

export interface SyncPayload {
  roomId: string;
  afterSeq: number;
  /** 1-200, 50 by default. */
  limit?: number;
}

export interface TypingPayload {
  roomId: string;
  isTyping: boolean;
}

export interface ReadPayload {
  roomId: string;
  seq: number;
}

/** Each client event: what it carries, and what its acknowledgement answers. */
export interface ClientEventMap {
  /** Start receiving a room live; catch up to `lastSeq` with `messages:sync`. */
  'room:join': { payload: RoomRef; answer: { room: RoomView; lastSeq: number } };
  'room:leave': { payload: RoomRef; answer: object };
  'message:send': { payload: SendPayload; answer: { message: MessageView } };
  'messages:sync': { payload: SyncPayload; answer: { messages: MessageView[]; hasMore: boolean } };
  typing: { payload: TypingPayload; answer: object };
  'room:read': { payload: ReadPayload; answer: object };
  'room:presence': { payload: RoomRef; answer: { online: string[] } };
  /** Starts the room's call (or returns its live one); the starter has joined it. */
  'call:start': { payload: RoomRef; answer: { call: CallView } };
  'call:join': { payload: CallRef; answer: { call: CallView; iceServers: IceServer[] } };
  'call:signal': { payload: SignalPayload; answer: object };
  'call:leave': { payload: CallRef; answer: object };
}

export type ClientEvent = keyof ClientEventMap;

/** The acknowledgement a client event gets. */
export type AckOf<E extends ClientEvent> = Ack<ClientEventMap[E]['answer']>;

/** Socket.IO's typed-events shape of the client events (for `Socket<ServerToClientEvents, ClientToServerEvents>`). */
export type ClientToServerEvents = {
  [E in ClientEvent]: (
    payload: ClientEventMap[E]['payload'],
    ack: (answer: AckOf<E>) => void,
  ) => void;
};

/** What the server emits to a socket. */
export interface ServerToClientEvents {
  /** A room's messages, in seq order, to sockets that joined it. */
  message: (message: MessageView) => void;
  typing: (event: TypingEvent) => void;
  read: (event: ReadEvent) => void;
  presence: (event: PresenceEvent) => void;
  /** The user's notifications, in seq order, to every socket of theirs. */
  notification: (notification: NotificationView) => void;
  /** A call started in one of the user's rooms: to every socket of every other member. */
  'call:ring': (event: CallRingEvent) => void;
  /** To the sockets that joined the call. */
  'call:joined': (event: CallMemberEvent) => void;
  'call:signal': (event: SignalEvent) => void;
  'call:left': (event: CallMemberEvent) => void;
  /** To every socket of the room's members. */
  'call:ended': (event: CallRef) => void;
}

/** The client event names, for code that must list them (binding, documents, tests). */
export const CLIENT_EVENTS: readonly ClientEvent[] = [
  'room:join',
  'room:leave',
  'message:send',
  'messages:sync',
  'typing',
  'room:read',
  'room:presence',
  'call:start',
  'call:join',
  'call:signal',
  'call:leave',
];

export const SERVER_EVENTS: readonly (keyof ServerToClientEvents)[] = [
  'message',
  'typing',
  'read',
  'presence',
  'notification',
  'call:ring',
  'call:joined',
  'call:signal',
  'call:left',
  'call:ended',
];
