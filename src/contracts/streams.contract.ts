import type { NotificationView, ResyncEvent } from './notifications.contract';
import type { Quote } from './stocks.contract';

/**
 * The events of `GET /api/notifications/stream` by SSE event name. A `notification` carries its
 * seq as the event id (so `Last-Event-ID` resumes); comments are heartbeats.
 */
export interface NotificationStreamEvents {
  notification: NotificationView;
  resync: ResyncEvent;
}

/** The events of `GET /api/stocks/stream`: the latest quote of each symbol first, then live ones. */
export interface StockStreamEvents {
  quote: Quote;
}

/**
 * The lines of `GET /api/notifications/ndjson` (one JSON object per `\n`-ended line): `open` with
 * the user's last seq first, then the notifications after the cursor and live ones, heartbeats,
 * and `resync` when the cursor is ahead of the user's last seq.
 */
export type NotificationNdjsonLine =
  | { type: 'open'; lastSeq: number }
  | { type: 'notification'; notification: NotificationView }
  | ({ type: 'resync' } & ResyncEvent)
  | { type: 'heartbeat' };

/** The lines of `GET /api/stocks/ndjson`: the latest quote of each symbol first, then live ones. */
export type StockNdjsonLine = { type: 'quote'; quote: Quote } | { type: 'heartbeat' };
