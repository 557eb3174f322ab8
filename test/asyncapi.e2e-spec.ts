import { NdjsonParser, SseParser } from '@realtime-service/client';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  DiagnosticSeverity,
  Parser,
  type AsyncAPIDocumentInterface,
  type MessageInterface,
} from '@asyncapi/parser';
import {
  CLIENT_EVENTS,
  SERVER_EVENTS,
  type NotificationNdjsonLine,
  type NotificationStreamEvents,
  type NotificationView,
  type Quote,
  type StockNdjsonLine,
  type StockStreamEvents,
} from '../src/contracts';
import { NDJSON_FRAMING, SSE_FRAMING } from '../src/realtime/stream-framing';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { registerUser } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { askUntyped, connectSocket, type ClientSocket } from './helpers/socket';

const DOCUMENT = resolve(__dirname, '../docs/asyncapi.yaml');

const NOTIFICATION: NotificationView = {
  id: '00000000-0000-4000-8000-000000000001',
  seq: 7,
  kind: 'system',
  title: 'Title',
  body: 'Body',
  data: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  readAt: null,
};
const QUOTE: Quote = {
  symbol: 'AAPL',
  price: 189.12,
  change: -1.3,
  changePct: -0.6826,
  ts: '2026-01-01T00:00:00.000Z',
};

/**
 * What the stream framings write, one sample frame per event, by the name the stream contract
 * gives it (SSE: the keys of its events; NDJSON: the `type`s of its lines). The compiler holds
 * each record to its contract: an event the contract adds or drops fails to type-check here.
 */
const FRAMES = {
  sseNotifications: {
    notification: SSE_FRAMING.notification(NOTIFICATION),
    resync: SSE_FRAMING.resync(NOTIFICATION.seq),
  } satisfies Record<keyof NotificationStreamEvents, string>,
  sseQuotes: {
    quote: SSE_FRAMING.quote(QUOTE),
  } satisfies Record<keyof StockStreamEvents, string>,
  ndjsonNotifications: {
    open: NDJSON_FRAMING.opening(NOTIFICATION.seq),
    notification: NDJSON_FRAMING.notification(NOTIFICATION),
    resync: NDJSON_FRAMING.resync(NOTIFICATION.seq),
    heartbeat: NDJSON_FRAMING.heartbeat,
  } satisfies Record<NotificationNdjsonLine['type'], string>,
  ndjsonQuotes: {
    quote: NDJSON_FRAMING.quote(QUOTE),
    heartbeat: NDJSON_FRAMING.heartbeat,
  } satisfies Record<StockNdjsonLine['type'], string>,
};

/** A frame as its reader sees it: the event's name and its payload. */
interface ReadFrame {
  name: string | undefined;
  payload: unknown;
}

/** An SSE frame read as EventSource reads it, by the SDK's parser: `event:` is the name, `data:` the JSON. */
function readSse(frame: string): ReadFrame[] {
  return new SseParser()
    .push(frame)
    .map((e) => ({ name: e.event, payload: JSON.parse(e.data) as unknown }));
}

/** An NDJSON frame read by the SDK's parser: the `type` field is the name, the line the payload. */
function readNdjson(frame: string): ReadFrame[] {
  return new NdjsonParser().push(frame).map((payload) => ({
    name:
      typeof payload === 'object' && payload !== null && 'type' in payload
        ? String(payload.type)
        : undefined,
    payload,
  }));
}

/** The streams the document describes: channel address, how its frames read, and the frames. */
const STREAMS: Array<{
  address: string;
  read: (frame: string) => ReadFrame[];
  frames: Readonly<Record<string, string>>;
}> = [
  { address: '/api/notifications/stream', read: readSse, frames: FRAMES.sseNotifications },
  { address: '/api/stocks/stream', read: readSse, frames: FRAMES.sseQuotes },
  { address: '/api/notifications/ndjson', read: readNdjson, frames: FRAMES.ndjsonNotifications },
  { address: '/api/stocks/ndjson', read: readNdjson, frames: FRAMES.ndjsonQuotes },
];

/** The messages of the document's operations on one channel, by action. */
function messages(
  doc: AsyncAPIDocumentInterface,
  address: string,
  action: 'send' | 'receive',
): MessageInterface[] {
  return doc
    .operations()
    .all()
    .filter(
      (op) =>
        op.action() === action &&
        op
          .channels()
          .all()
          .some((c) => c.address() === address),
    )
    .flatMap((op) => op.messages().all());
}

/** The message names of the document's operations on one channel, by action. */
function documented(
  doc: AsyncAPIDocumentInterface,
  address: string,
  action: 'send' | 'receive',
): Set<string> {
  const names = messages(doc, address, action).map((m) => m.name());
  return new Set(names.filter((n): n is string => n !== undefined));
}

const sorted = (names: Iterable<string>): string[] => [...names].sort();

describe('AsyncAPI document (docs/asyncapi.yaml)', () => {
  const text = readFileSync(DOCUMENT, 'utf8');
  const parser = new Parser();
  let doc: AsyncAPIDocumentInterface;

  beforeAll(async () => {
    const parsed = await parser.parse(text);
    if (parsed.document === undefined) throw new Error('docs/asyncapi.yaml does not parse');
    doc = parsed.document;
  });

  it('is a valid AsyncAPI 3 document by the official parser', async () => {
    const diagnostics = await parser.validate(text);
    const serious = diagnostics
      // Errors (0) and warnings (1); information (the newest version is 3.1) and hints pass.
      .filter((d) => Number(d.severity) <= Number(DiagnosticSeverity.Warning))
      .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
    expect(serious).toEqual([]);
    expect(doc.version()).toMatch(/^3\./);
  });

  it('names the socket events of the server contract (bound and emitted by the edge)', () => {
    // The edge binds handlers typed by ClientEventMap and emits only ServerToClientEvents.
    expect(new Set(CLIENT_EVENTS).size).toBe(CLIENT_EVENTS.length);
    expect(new Set(SERVER_EVENTS).size).toBe(SERVER_EVENTS.length);
    expect(sorted(documented(doc, '/', 'receive'))).toEqual(sorted(CLIENT_EVENTS));
    expect(sorted(documented(doc, '/', 'send'))).toEqual(sorted(SERVER_EVENTS));
  });

  it('names the events the SSE and NDJSON framings write', () => {
    for (const { address, read, frames } of STREAMS) {
      // Each sample frame reads as one event, named as its contract names it.
      const written = Object.entries(frames).map(([key, frame]) => [
        key,
        read(frame).map((f) => f.name),
      ]);
      expect([address, written]).toEqual([address, Object.keys(frames).map((k) => [k, [k]])]);
      expect([address, sorted(documented(doc, address, 'send'))]).toEqual([
        address,
        sorted(Object.keys(frames)),
      ]);
    }
    // Nothing else is an event: SSE's retry hint and heartbeat comments dispatch none, and the
    // quote stream's NDJSON opening (no lastSeq) writes no line.
    expect(readSse(SSE_FRAMING.opening(null) + SSE_FRAMING.heartbeat)).toEqual([]);
    expect(NDJSON_FRAMING.opening(null)).toBe('');
  });

  it('requires of each stream event the properties its framing writes', () => {
    for (const { address, read, frames } of STREAMS)
      for (const message of messages(doc, address, 'send')) {
        const name = message.name() ?? '';
        const [frame] = read(frames[name] ?? '');
        const payload = frame?.payload;
        const keys = typeof payload === 'object' && payload !== null ? Object.keys(payload) : [];
        const schema = message.payload();
        expect([address, name, sorted(schema?.required() ?? [])]).toEqual([
          address,
          name,
          sorted(keys),
        ]);
        // An NDJSON line's `type` is its name, and the document says so.
        if (address.endsWith('/ndjson'))
          expect([address, name, schema?.properties()?.['type']?.const()]).toEqual([
            address,
            name,
            name,
          ]);
      }
  });

  it('gives every client event a reply (its acknowledgement)', () => {
    const receive = doc
      .operations()
      .all()
      .filter((op) => op.action() === 'receive');
    for (const op of receive)
      expect([op.id(), op.reply()?.messages().all().length]).toEqual([op.id(), 1]);
  });

  describe('against a running instance', () => {
    let db: TestDatabase;
    let app: Instance;
    let socket: ClientSocket;

    beforeAll(async () => {
      db = await createTestDatabase('asyncapi');
      app = await startInstance({ databaseUrl: db.url, redisPrefix: uniquePrefix('asyncapi') });
      const user = await registerUser(app.url, 'async');
      socket = await connectSocket(app.url, user.token);
    });
    afterAll(async () => {
      socket?.close();
      await app?.stop();
      await db?.drop();
    });

    it('acknowledges every client event (VALIDATION for an empty payload)', async () => {
      // The documented ones and the contract's: the same list, by the test above.
      const names = sorted(new Set([...documented(doc, '/', 'receive'), ...CLIENT_EVENTS]));
      // Untyped: `{}` is what the contract forbids for every one of them.
      const acks = await Promise.all(names.map((name) => askUntyped(socket, name, {})));
      for (const [i, ack] of acks.entries())
        expect([names[i], ack]).toEqual([
          names[i],
          { ok: false, error: expect.objectContaining({ code: 'VALIDATION' }) },
        ]);
    });

    it('ignores an event the document does not name', async () => {
      const untyped = socket.timeout(500) as unknown as {
        emitWithAck(event: string, payload: unknown): Promise<unknown>;
      };
      await expect(untyped.emitWithAck('room:undocumented', {})).rejects.toThrow();
      expect(socket.connected).toBe(true);
    });
  });
});
