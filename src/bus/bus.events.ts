import type {
  CallView,
  MessageView,
  PresenceEvent,
  Quote,
  ReadEvent,
  SignalEvent,
  TypingEvent,
} from '../contracts';
import type { AddressedNotification } from '../notifications/notification.views';

/** A login ended: every instance closes that login's sockets and streams. */
export interface SessionEndedEvent {
  userId: string;
  sessionId: string;
}

/** A member left a room: every instance takes that user's sockets out of it. */
export interface MemberLeftEvent {
  roomId: string;
  userId: string;
}

/** A call event for some users (split per user on the bus: each travels on its user's channel). */
export interface CallFanout {
  userIds: string[];
}

/**
 * `slots` of a rate-limit lease held by one limiter (`holder`, its name in Redis) in a bucket's
 * `window` were taken back by another instance: the holder uses that many fewer.
 */
export interface RateLimitRevokedEvent {
  holder: string;
  bucket: string;
  window: string;
  slots: number;
}

/**
 * Every bus topic and its payload, in one map. `routes.ts` says where each one travels (a topic
 * without a route does not compile).
 */
export interface BusTopics {
  /** A committed chat message (batches travel as one write per room channel). */
  'chat.message': MessageView;
  'chat.typing': TypingEvent;
  'chat.read': ReadEvent;
  /** Sent on the user's channel, so the instances holding that user's sockets hear it. */
  'chat.member-left': MemberLeftEvent;
  presence: PresenceEvent;
  /** Notifications committed together (one bus message for many recipients, split per user). */
  'notification.created': { items: AddressedNotification[] };
  /** Quotes accepted together (one simulated tick, or one ingested quote), split per symbol. */
  'stock.quotes': { quotes: Quote[] };
  'auth.session-ended': SessionEndedEvent;
  'rate-limit.revoked': RateLimitRevokedEvent;
  /** Everything of this user ends: sent on the user's channel, heard where they are connected. */
  'auth.user-disconnected': { userId: string };
  /** To every socket of these members: a call started in their room. */
  'call.ring': CallFanout & { call: CallView };
  /** To these participants' sockets in the call. */
  'call.joined': CallFanout & { callId: string; userId: string };
  'call.left': CallFanout & { callId: string; userId: string };
  /** To every socket of these members: the call is over. */
  'call.ended': CallFanout & { callId: string };
  /** To the sockets of `to` that joined the call. */
  'call.signal': { to: string; signal: SignalEvent };
}
