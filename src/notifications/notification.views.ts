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

/** The fields the notifications of one insert share, and their JSON (the tail of each item's). */
type SharedTail = Pick<
  NotificationView,
  'kind' | 'title' | 'body' | 'data' | 'createdAt' | 'readAt'
> & { json: string };

let lastTail: SharedTail | null = null;

/** `,"kind":…,"readAt":…}}`: what follows an item's seq, as JSON.stringify writes it. */
function sharedTailOf(n: NotificationView): string {
  const t = lastTail;
  if (
    t !== null &&
    t.kind === n.kind &&
    t.title === n.title &&
    t.body === n.body &&
    t.data === n.data &&
    t.createdAt === n.createdAt &&
    t.readAt === n.readAt
  )
    return t.json;
  const json = `,"kind":${JSON.stringify(n.kind)},"title":${JSON.stringify(n.title)},"body":${JSON.stringify(n.body)},"data":${JSON.stringify(n.data)},"createdAt":${JSON.stringify(n.createdAt)},"readAt":${JSON.stringify(n.readAt)}}}`;
  lastTail = {
    kind: n.kind,
    title: n.title,
    body: n.body,
    data: n.data,
    createdAt: n.createdAt,
    readAt: n.readAt,
    json,
  };
  return json;
}

/**
 * `JSON.stringify({ items })`, the same text, built faster for a fan-out: the notifications of
 * one insert share every field but id, user and seq (and their `data` is one object), so that
 * shared part is encoded once per run of items that share it, not once per recipient. A
 * 500,000-user reminder spent more time in JSON.stringify of those shared fields than in
 * anything else of its publishing. Views are never changed once built, so a `data` object seen
 * before still encodes as it did. It writes the fields of AddressedNotification and
 * NotificationView, in their order, and nothing else: items are the views built here.
 */
export function encodeNotificationItems(p: { items: readonly AddressedNotification[] }): string {
  let out = '{"items":[';
  for (let i = 0; i < p.items.length; i++) {
    const { userId, notification: n } = p.items[i];
    if (i > 0) out += ',';
    out += `{"userId":${JSON.stringify(userId)},"notification":{"id":${JSON.stringify(n.id)},"seq":${JSON.stringify(n.seq)}${sharedTailOf(n)}`;
  }
  return `${out}]}`;
}
