import type { NotificationView } from '../contracts';

export type { NotificationView } from '../contracts';

export interface NotificationRow {
  id: string;
  user_id: string;
  seq: number | string;
  kind: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  created_at: Date;
  read_at: Date | null;
}

export const NOTIFICATION_COLUMNS =
  'id, user_id, seq, kind, title, body, data, created_at, read_at';

export function toNotificationView(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    seq: Number(row.seq),
    kind: row.kind,
    title: row.title,
    body: row.body,
    data: row.data,
    createdAt: row.created_at.toISOString(),
    readAt: row.read_at === null ? null : row.read_at.toISOString(),
  };
}

/** One created notification on the bus: who it is for, and what it is. */
export interface AddressedNotification {
  userId: string;
  notification: NotificationView;
}
