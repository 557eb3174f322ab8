export interface NotificationView {
  id: string;
  /** Gapless per user, from 1: the feed's cursor on every transport. */
  seq: number;
  kind: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  createdAt: string;
  readAt: string | null;
}

/** Told on a notification stream when the server cannot vouch for what it missed: read the feed from your cursor again. */
export interface ResyncEvent {
  lastSeq: number;
}

/** A page of the feed (`GET /api/notifications?after=` and the long-poll `.../wait`), ascending by seq. */
export interface NotificationPage {
  items: NotificationView[];
  /** The seq of the last item, or `after` when there is none. */
  lastSeq: number;
}

/** `POST /api/auth/stream-ticket`: opens one stream (`?ticket=`) within 30 s, then it is spent. */
export interface StreamTicket {
  ticket: string;
  expiresAt: string;
}
