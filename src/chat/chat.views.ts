import type { MessageView, RoomKind, RoomMember, RoomView } from '../contracts';

export type { MessageView, RoomKind, RoomMember, RoomView } from '../contracts';

/** A room row as the rooms repository reads it (with its first members and their count). */
export interface RoomRow {
  id: string;
  name: string;
  kind: RoomKind;
  last_seq: number | string;
  created_at: Date;
  member_ids: string[] | null;
  member_count: number | string;
}

export function toRoomView(row: RoomRow): RoomView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    memberIds: row.member_ids ?? [],
    memberCount: Number(row.member_count),
    lastSeq: Number(row.last_seq),
    createdAt: row.created_at.toISOString(),
  };
}

export interface RoomMemberRow {
  user_id: string;
  joined_at: Date;
  username: string;
  display_name: string;
}

export function toRoomMember(row: RoomMemberRow): RoomMember {
  return {
    userId: row.user_id,
    joinedAt: row.joined_at.toISOString(),
    username: row.username,
    displayName: row.display_name,
  };
}

/** A row as Postgres returns it from our raw queries. */
export interface MessageRow {
  id: string;
  room_id: string;
  seq: number | string;
  sender_id: string | null;
  body: string;
  client_msg_id: string | null;
  created_at: Date;
}

export function toMessageView(row: MessageRow): MessageView {
  return {
    id: row.id,
    roomId: row.room_id,
    seq: Number(row.seq),
    senderId: row.sender_id,
    body: row.body,
    clientMsgId: row.client_msg_id,
    createdAt: row.created_at.toISOString(),
  };
}
