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

/**
 * A notification just created, as the insert returns it: [id, userId, seq, createdAt as JSON
 * text]. The fields all rows of one insert share are not repeated per row.
 */
export type CreatedNotificationRow = [string, string, string | number, string];

/** The created rows of one insert, with the fields they share, as addressed views. */
export function toAddressedNotifications(
  rows: readonly CreatedNotificationRow[],
  shared: Pick<NotificationView, 'kind' | 'title' | 'body' | 'data'>,
): AddressedNotification[] {
  const { kind, title, body, data } = shared;
  // The rows of one insert share their creation time (now() is the transaction's): it is
  // converted once, not once per row of a 50,000-user fan-out, and held as one string.
  let lastRaw: string | undefined;
  let lastIso = '';
  return rows.map(([id, userId, seq, createdAt]) => {
    if (createdAt !== lastRaw) {
      lastRaw = createdAt;
      lastIso = new Date(createdAt).toISOString();
    }
    return {
      userId,
      notification: {
        id,
        seq: Number(seq),
        kind,
        title,
        body,
        data,
        createdAt: lastIso,
        readAt: null,
      },
    };
  });
}

/** One created notification on the bus: who it is for, and what it is. */
export interface AddressedNotification {
  userId: string;
  notification: NotificationView;
}
