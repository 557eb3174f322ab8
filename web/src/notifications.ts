import {
  NotificationFeed,
  type ChatSocket,
  type NotificationPage,
  type NotificationView,
} from '@realtime-service/client';
import { call } from './api';
import { $, el } from './dom';

export type Transport = 'poll' | 'longpoll' | 'sse' | 'ndjson' | 'socket';

/**
 * The notification panel: the SDK's feed over the transport picked. Whatever the transport, the
 * feed is the same: everything after the last seq shown, each shown once. Switching transport
 * carries the cursor over.
 */
export class NotificationPanel {
  private cursor = 0;
  private requests = 0;
  private bytes = 0;
  private feed: NotificationFeed | null = null;

  constructor(private readonly socket: () => ChatSocket | null) {}

  async start(transport: Transport): Promise<void> {
    this.stop();
    this.requests = 0;
    this.bytes = 0;
    this.renderStats();
    if (this.cursor === 0) {
      // Show the latest few, then follow from there.
      const { body } = await call<NotificationPage>('/api/notifications?after=0&limit=200');
      for (const n of body.items.slice(-20)) this.show(n);
      this.cursor = Math.max(this.cursor, body.lastSeq);
    }
    const socket = this.socket();
    if (transport === 'socket' && socket === null) return;
    // Same origin: the HttpOnly cookie authenticates every request, EventSource included.
    const feed = new NotificationFeed(location.origin, {
      after: this.cursor,
      transports: [transport],
      socket: socket ?? undefined,
      pollIntervalMs: 1000,
    });
    feed.on('request', () => {
      this.requests++;
      this.renderStats();
    });
    feed.on('notification', (n) => {
      this.bytes += JSON.stringify(n).length;
      this.show(n);
    });
    feed.on('error', (err) => console.warn(`notifications over ${transport}:`, err.message));
    this.feed = feed.start();
  }

  stop(): void {
    this.feed?.close();
    this.feed = null;
  }

  private show(n: NotificationView): void {
    if (n.seq <= this.cursor) return; // shown already
    this.cursor = n.seq;
    const item = el('li');
    item.dataset.seq = String(n.seq);
    item.append(
      el('strong', `${n.title} `),
      el('span', n.body),
      el('small', ` (${n.kind}, #${n.seq})`),
    );
    $('notifications').prepend(item);
    $('stat-delay').textContent = `${Math.max(0, Date.now() - Date.parse(n.createdAt))} ms`;
    this.renderStats();
  }

  private renderStats(): void {
    $('stat-requests').textContent = String(this.requests);
    $('stat-bytes').textContent = String(this.bytes);
  }
}
