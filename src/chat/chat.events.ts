import type { MessageView } from './chat.views';

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

/** A member left a room: every instance unsubscribes that user's sockets from it. */
export interface MemberLeftEvent {
  roomId: string;
  userId: string;
}

/** A user's first socket anywhere appeared, or the last one went: told to one room. */
export interface PresenceEvent {
  roomId: string;
  userId: string;
  online: boolean;
}

declare module '../bus/bus' {
  interface BusTopics {
    'chat.message': MessageView;
    'chat.typing': TypingEvent;
    'chat.read': ReadEvent;
    'chat.member-left': MemberLeftEvent;
    presence: PresenceEvent;
  }
}
