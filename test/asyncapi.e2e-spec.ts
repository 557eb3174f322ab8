import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { DiagnosticSeverity, Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { registerUser } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { connectSocket, type ClientSocket } from './helpers/socket';

const DOCUMENT = resolve(__dirname, '../docs/asyncapi.yaml');
const SRC = resolve(__dirname, '../src');

/** The service's source files (specs left out), path relative to src/ and text. */
function sources(dir = SRC): Array<{ path: string; text: string }> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.spec.ts')) return [];
    return [{ path: relative(SRC, path), text: readFileSync(path, 'utf8') }];
  });
}

const all = (text: string, pattern: RegExp): string[] =>
  [...text.matchAll(pattern)].map((m) => m[1]);

/** What the server's code binds and emits, read from its source. */
function serverEvents(): {
  bound: Set<string>;
  emitted: Set<string>;
  sse: Map<string, Set<string>>;
} {
  const bound = new Set<string>();
  const emitted = new Set<string>();
  const sse = new Map<string, Set<string>>();
  for (const { path, text } of sources()) {
    // Handlers are bound by bindSocketEvents from a Map of event name -> handler.
    for (const map of all(text, /new Map<string, SocketEventHandler>\(\[([\s\S]*?)\]\);/g))
      for (const name of all(map, /\[\s*'([^']+)'\s*,/g)) bound.add(name);
    for (const name of all(text, /\.emit\(\s*'([^']+)'/g)) emitted.add(name);
    const feature = path.split('/')[0];
    for (const frame of all(text, /sseEvent\(\{([\s\S]*?)\}\)/g))
      for (const name of all(frame, /event:\s*'([^']+)'/g)) {
        if (!sse.has(feature)) sse.set(feature, new Set());
        sse.get(feature)?.add(name);
      }
  }
  return { bound, emitted, sse };
}

/** The message names of the document's operations on one channel, by action. */
function documented(doc: AsyncAPIDocumentInterface, address: string, action: 'send' | 'receive') {
  const names = doc
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
    .flatMap((op) =>
      op
        .messages()
        .all()
        .map((m) => m.name()),
    );
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

  it('names the socket events the server binds and emits, and the SSE events it writes', () => {
    const server = serverEvents();
    expect(sorted(documented(doc, '/', 'receive'))).toEqual(sorted(server.bound));
    expect(sorted(documented(doc, '/', 'send'))).toEqual(sorted(server.emitted));
    expect(sorted(documented(doc, '/api/notifications/stream', 'send'))).toEqual(
      sorted(server.sse.get('notifications') ?? []),
    );
    expect(sorted(documented(doc, '/api/stocks/stream', 'send'))).toEqual(
      sorted(server.sse.get('stocks') ?? []),
    );
    // The reading of the source found something (a rewrite that hides the names fails here).
    expect(server.bound.size).toBeGreaterThanOrEqual(7);
    expect(server.emitted.size).toBeGreaterThanOrEqual(5);
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

    it('acknowledges every documented client event (VALIDATION for an empty payload)', async () => {
      const names = sorted(documented(doc, '/', 'receive'));
      const acks = await Promise.all(
        names.map((name) => socket.timeout(5000).emitWithAck(name, {}) as Promise<unknown>),
      );
      for (const [i, ack] of acks.entries())
        expect([names[i], ack]).toEqual([
          names[i],
          { ok: false, error: expect.objectContaining({ code: 'VALIDATION' }) },
        ]);
    });

    it('ignores an event the document does not name', async () => {
      await expect(socket.timeout(500).emitWithAck('room:undocumented', {})).rejects.toThrow();
      expect(socket.connected).toBe(true);
    });
  });
});
