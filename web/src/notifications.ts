import type { Socket } from 'socket.io-client';
import { call } from './api';
import { Backoff } from './backoff';
import { $, el, inBackground } from './dom';

export interface Notification {
  id: string;
  seq: number;
  kind: string;
  title: string;
  body: string;
  createdAt: string;
}

export type Transport = 'poll' | 'longpoll' | 'sse' | 'socket';

/**
 * The notification panel. Whatever the transport, the feed is the same: everything after the
 * last seq shown, each shown once. Switching transport carries the cursor over.
 */
export class NotificationPanel {
  private cursor = 0;
  private requests = 0;
  private bytes = 0;
  private stopCurrent: () => void = () => undefined;

  constructor(private readonly socket: () => Socket | null) {}

  async start(transport: Transport): Promise<void> {
    this.stopCurrent();
    this.requests = 0;
    this.bytes = 0;
    this.renderStats();
    if (this.cursor === 0) {
      // Show the latest few, then follow from there.
      const { body } = await call<{ items: Notification[]; lastSeq: number }>(
        '/api/notifications?after=0&limit=200',
      );
      for (const n of body.items.slice(-20)) this.show(n);
      this.cursor = Math.max(this.cursor, body.lastSeq);
    }
    if (transport === 'poll') this.stopCurrent = this.poll();
    else if (transport === 'longpoll') this.stopCurrent = this.longPoll();
    else if (transport === 'sse') this.stopCurrent = this.sse();
    else this.stopCurrent = this.viaSocket();
  }

  stop(): void {
    this.stopCurrent();
  }

  private poll(): () => void {
    let active = true;
    const tick = async (): Promise<void> => {
      if (!active) return;
      try {
        this.requests++;
        const { body, bytes } = await call<{ items: Notification[] }>(
          `/api/notifications?after=${this.cursor}`,
        );
        this.bytes += bytes;
        body.items.forEach((n) => this.show(n));
      } catch {
        // next tick retries
      }
      this.renderStats();
      if (active) timer = setTimeout(() => inBackground(tick()), 1000);
    };
    let timer = setTimeout(() => inBackground(tick()), 0);
    return () => {
      active = false;
      clearTimeout(timer);
    };
  }

  private longPoll(): () => void {
    const controller = new AbortController();
    const backoff = new Backoff();
    const loop = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        try {
          this.requests++;
          this.renderStats();
          const { body, bytes } = await call<{ items: Notification[] }>(
            `/api/notifications/wait?after=${this.cursor}&timeout=25`,
            {
              signal: controller.signal,
            },
          );
          this.bytes += bytes;
          body.items.forEach((n) => this.show(n));
          backoff.reset();
        } catch {
          if (controller.signal.aborted) return;
          await new Promise((r) => setTimeout(r, backoff.next()));
        }
      }
    };
    inBackground(loop());
    return () => controller.abort();
  }

  private sse(): () => void {
    // The cookie authenticates a same-origin EventSource; it resumes with Last-Event-ID itself.
    const source = new EventSource(`/api/notifications/stream?after=${this.cursor}`);
    this.requests++;
    source.addEventListener('open', () => {
      this.requests++;
      this.renderStats();
    });
    source.addEventListener('notification', (event) => {
      const data = (event as MessageEvent<string>).data;
      this.bytes += data.length;
      this.show(JSON.parse(data) as Notification);
    });
    return () => source.close();
  }

  private viaSocket(): () => void {
    const socket = this.socket();
    if (socket === null) return () => undefined;
    const handler = (n: Notification): void => {
      this.bytes += JSON.stringify(n).length;
      this.show(n);
    };
    socket.on('notification', handler);
    // Catch up once on what arrived before (a socket has no cursor of its own).
    inBackground(
      call<{ items: Notification[] }>(`/api/notifications?after=${this.cursor}`).then(({ body }) =>
        body.items.forEach((n) => this.show(n)),
      ),
    );
    return () => socket.off('notification', handler);
  }

  private show(n: Notification): void {
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
