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
