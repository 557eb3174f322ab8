import type { MessageView } from '../contracts';

export type { MessageView, RoomView } from '../contracts';

/** A row as Postgres returns it from our raw queries. */
export interface MessageRow {
  id: string;
  room_id: string;
  seq: number | string;
  sender_id: string;
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
