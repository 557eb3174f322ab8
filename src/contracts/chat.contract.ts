/** A room is a named group, or the one direct room two users share. */
export type RoomKind = 'group' | 'direct';

export interface RoomView {
  id: string;
  name: string;
  kind: RoomKind;
  /** The first 100 members by join order; `memberCount` is the total. */
  memberIds: string[];
  memberCount: number;
  lastSeq: number;
  createdAt: string;
}

/** A member as the members page lists them: who, since when, and their names. */
export interface RoomMember {
  userId: string;
  joinedAt: string;
  username: string;
  displayName: string;
}

export interface MessageView {
  id: string;
  roomId: string;
  /** Gapless per room, from 1. */
  seq: number;
  /** null: a system message, posted by the team's backend through the server API. */
  senderId: string | null;
  body: string;
  clientMsgId: string | null;
  createdAt: string;
}

export interface TypingEvent {
  roomId: string;
  userId: string;
  isTyping: boolean;
}

export interface ReadEvent {
  roomId: string;
  userId: string;
  seq: number;
}

/** A user's first socket anywhere appeared, or the last one went: told to each of their rooms. */
export interface PresenceEvent {
  roomId: string;
  userId: string;
  online: boolean;
}
