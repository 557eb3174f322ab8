import {
  connect,
  NotificationFeed,
  type ChatSocket,
  type FeedTransport,
  type NotificationPage,
  type NotificationView,
} from '@realtime-service/client';
import { api, ApiError } from './api';
import { $, el, inBackground } from './dom';
import { Sparkline } from './sparkline';

/** What each technique is, what it costs and what it is for: the comparison the lab shows. */
interface LaneSpec {
  id: string;
  title: string;
  about: string;
  feed: FeedTransport;
  /** Socket.IO lanes: which Engine.IO transport the socket may use. */
  socket?: 'websocket' | 'polling';
}

const LANES: LaneSpec[] = [
  {
    id: 'poll',
    title: 'Polling',
    feed: 'poll',
    about:
      'Asks again every interval. Works through anything, but pays a request per client per interval even when nothing happened, and waits up to the interval.',
  },
  {
    id: 'longpoll',
    title: 'Long-polling',
    feed: 'longpoll',
    about:
      'The server holds each request until something arrives (or 25 s). Near-instant over plain HTTP; one request, with its headers, per delivery.',
  },
  {
    id: 'sse',
    title: 'Server-Sent Events',
    feed: 'sse',
    about:
      'One long response the server writes events into; the browser reconnects and resumes with Last-Event-ID by itself. Server to client only, cheap per event.',
  },
  {
    id: 'ndjson',
    title: 'HTTP streaming (NDJSON)',
    feed: 'ndjson',
    about:
      'One long fetch response of JSON lines: the economy of SSE without EventSource. Any HTTP client reads it; reconnecting and the cursor are yours (the SDK does both).',
  },
  {
    id: 'ws',
    title: 'Socket.IO over WebSocket',
    feed: 'socket',
    socket: 'websocket',
    about:
      'A full-duplex connection: the least bytes per message, both ways. Needs proxies that pass WebSockets; a cut is caught up from the cursor on reconnect.',
  },
  {
    id: 'sio-polling',
    title: 'Socket.IO over HTTP polling',
    feed: 'socket',
    socket: 'polling',
    about:
      "Socket.IO's fallback where WebSockets are blocked: long-polling under the same API, with sticky sessions behind a load balancer.",
  },
];

interface LaneStats {
  received: number;
  requests: number;
  bytes: number;
  reconnects: number;
  latencies: number[];
  seqs: number[];
}

/** One technique's lane: its feed (and socket), its counters and its chart. */
class Lane {
  readonly stats: LaneStats = {
    received: 0,
    requests: 0,
    bytes: 0,
    reconnects: 0,
    latencies: [],
    seqs: [],
  };
  private feed: NotificationFeed | null = null;
  private socket: ChatSocket | null = null;
  private readonly chart: Sparkline;
  private readonly root: HTMLElement;
  private pollMs = 1000;

  constructor(
    readonly spec: LaneSpec,
    private after: number,
    private readonly changed: () => void,
  ) {
    this.chart = new Sparkline(`${spec.title}: publish-to-receive latency, ms`);
    this.root = this.render();
  }

  get element(): HTMLElement {
    return this.root;
  }

  start(): void {
    this.open(`listening from #${this.after}`);
  }

  /** Drops the connection, as a network would; the lane comes back and resumes from its cursor. */
  cut(): void {
    const cursor = this.feed?.cursor ?? this.after;
    this.stats.reconnects++;
    if (this.socket !== null) {
      // The socket reconnects by itself; the feed catches up from its cursor on `connect`.
      this.socket.io.engine.close();
      this.status(`cut; reconnecting, will resume after #${cursor}`);
      return;
    }
    this.feed?.close();
    this.after = cursor;
    this.open(`cut; resumed after #${cursor}`);
  }

  private open(status: string): void {
    if (this.spec.socket !== undefined && this.socket === null) {
      this.socket = connect(location.origin, {
        withCredentials: true,
        transports: [this.spec.socket],
        // Its own connection, not multiplexed with the other Socket.IO lane.
        forceNew: true,
      });
      this.socket.on('connect', () => {
        this.status(`live · connected over ${this.socket?.io.engine.transport.name ?? '?'}`);
        this.socket?.io.engine.on('data', (data: unknown) => {
          this.stats.bytes += typeof data === 'string' ? data.length : 0;
        });
      });
      this.socket.on('disconnect', () => this.status('disconnected; reconnecting'));
    }
    const feed = new NotificationFeed(location.origin, {
      after: this.after,
      transports: [this.spec.feed],
      socket: this.socket ?? undefined,
      pollIntervalMs: this.pollMs,
      fetch: (input, init) => this.countingFetch(input, init),
    });
    // Live once listening: a stream opened, or a (long-)poll is out (it answers only when
    // something comes).
    const live = (): void => this.status(`live · ${status}`);
    feed.on('request', () => {
      this.stats.requests++;
      if (this.spec.feed === 'longpoll' || this.spec.feed === 'poll') live();
      this.changed();
    });
    feed.on('open', live);
    feed.on('notification', (n) => this.receive(n));
    feed.on('error', (err) => this.status(`error: ${err.message}; retrying`));
    this.status(status);
    this.feed = feed.start();
  }

  /** Counts the bytes of answers that are read whole (polls, long-polls); streams count events. */
  private async countingFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const res = await fetch(input, init);
    const type = res.headers.get('content-type') ?? '';
    if (type.includes('application/json') && res.ok)
      this.stats.bytes += (await res.clone().arrayBuffer()).byteLength;
    return res;
  }

  private receive(n: NotificationView): void {
    this.stats.received++;
    this.stats.seqs.push(n.seq);
    if (this.spec.feed === 'sse' || this.spec.feed === 'ndjson')
      this.stats.bytes += JSON.stringify(n).length;
    const sentAt = typeof n.data.sentAt === 'number' ? n.data.sentAt : null;
    if (sentAt !== null) {
      const ms = Math.max(0, Date.now() - sentAt);
      this.stats.latencies.push(ms);
      this.chart.push(ms);
    }
    this.root.dataset.received = String(this.stats.received);
    this.root.dataset.lastSeq = String(n.seq);
    this.root.dataset.points = String(this.chart.size);
    this.root.dataset.inOrder = String(isAscending(this.stats.seqs));
    this.changed();
  }

  private status(text: string): void {
    const node = this.root.querySelector('.lane-status');
    if (node !== null) node.textContent = text;
  }

  private render(): HTMLElement {
    const section = el('section', undefined, 'card lane');
    section.dataset.lane = this.spec.id;
    section.setAttribute('aria-labelledby', `lane-${this.spec.id}`);
    const heading = el('h3', this.spec.title);
    heading.id = `lane-${this.spec.id}`;
    const cut = el('button', 'Cut the connection');
    cut.setAttribute('type', 'button');
    cut.dataset.action = 'cut';
    // The visible text leads the accessible name (speech users say what they see).
    cut.setAttribute('aria-label', `Cut the connection: ${this.spec.title}`);
    cut.addEventListener('click', () => this.cut());
    const status = el('p', 'starting', 'lane-status');
    status.setAttribute('role', 'status');
    section.append(
      heading,
      el('p', this.spec.about, 'lane-about'),
      status,
      this.chart.element,
      cut,
    );
    if (this.spec.feed === 'poll') section.append(this.intervalControl());
    return section;
  }

  private intervalControl(): HTMLElement {
    const wrap = el('div', undefined, 'lane-interval');
    const id = `interval-${this.spec.id}`;
    const label = el('label', 'Interval (ms) ');
    label.setAttribute('for', id);
    const input = document.createElement('input');
    input.id = id;
    input.type = 'number';
    input.min = '250';
    input.max = '10000';
    input.step = '250';
    input.value = String(this.pollMs);
    input.addEventListener('change', () => {
      const ms = Number(input.value);
      if (!Number.isFinite(ms) || ms < 250 || ms > 10000) return;
      this.pollMs = ms;
      this.after = this.feed?.cursor ?? this.after;
      this.feed?.close();
      this.open(`polling every ${ms} ms`);
    });
    wrap.append(label, input);
    return wrap;
  }
}

function isAscending(seqs: readonly number[]): boolean {
  for (let i = 1; i < seqs.length; i++) if (seqs[i] <= seqs[i - 1]) return false;
  return true;
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function renderTotals(lanes: readonly Lane[]): void {
  const rows = lanes.map((lane) => {
    const { received, requests, bytes, reconnects, latencies } = lane.stats;
    const tr = el('tr');
    const cells = [
      lane.spec.title,
      String(received),
      String(requests),
      String(bytes),
      String(median(latencies) ?? '-'),
      String(latencies.length === 0 ? '-' : Math.max(...latencies)),
      String(reconnects),
    ];
    cells.forEach((text, i) => {
      const cell = el(i === 0 ? 'th' : 'td', text);
      if (i === 0) cell.setAttribute('scope', 'row');
      tr.append(cell);
    });
    return tr;
  });
  $('totals')
    .querySelector('tbody')
    ?.replaceChildren(...rows);
}

async function publish(count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, () => api('/api/demo/publish', { body: { sentAt: Date.now() } })),
  );
}

async function start(): Promise<void> {
  try {
    await api('/api/me');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      $('lab-login').hidden = false;
      return;
    }
    throw err;
  }
  const demo = await api<{ enabled: boolean }>('/api/demo');
  if (!demo.enabled) {
    $('lab-demo-off').hidden = false;
    for (const id of ['lab-publish', 'lab-burst', 'lab-rate'])
      ($(id) as HTMLButtonElement | HTMLInputElement).disabled = true;
  }
  // Every lane starts from the same cursor, the user's last seq now, so they all get the same.
  // A long-poll from a cursor past the end answers at once with the real last seq.
  const { lastSeq: cursor } = await api<NotificationPage>(
    `/api/notifications/wait?after=${Number.MAX_SAFE_INTEGER}&timeout=1`,
  );
  let pending = false;
  const lanes: Lane[] = [];
  const changed = (): void => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      renderTotals(lanes);
    });
  };
  for (const spec of LANES) lanes.push(new Lane(spec, cursor, changed));
  $('lanes').replaceChildren(...lanes.map((l) => l.element));
  for (const lane of lanes) lane.start();
  renderTotals(lanes);

  const status = $('lab-status');
  const run = (count: number): void =>
    inBackground(
      publish(count).then(
        () => (status.textContent = `published ${count}`),
        (err: unknown) =>
          (status.textContent = `publish failed: ${err instanceof Error ? err.message : String(err)}`),
      ),
    );
  $('lab-publish').addEventListener('click', () => run(1));
  $('lab-burst').addEventListener('click', () => run(20));
  const rate = $('lab-rate') as HTMLInputElement;
  let timer: ReturnType<typeof setInterval> | null = null;
  rate.addEventListener('input', () => {
    const perSecond = Number(rate.value);
    $('lab-rate-out').textContent = perSecond === 0 ? 'off' : `${perSecond}/s`;
    if (timer !== null) clearInterval(timer);
    timer = perSecond === 0 ? null : setInterval(() => run(1), 1000 / perSecond);
  });
}

inBackground(start());
