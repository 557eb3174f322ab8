import type { NotificationNdjsonLine } from './contracts.js';
import { LineSplitter } from './text-stream.js';

/** Splits an NDJSON stream into parsed objects: one JSON value per `\n`-ended line, blank lines skipped. */
export class NdjsonParser {
  private readonly lines = new LineSplitter(false);

  /** Throws on a line that is not JSON: the stream is broken, reconnect. */
  push(text: string): unknown[] {
    return this.lines
      .push(text)
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as unknown);
  }
}

const LINE_TYPES: ReadonlySet<string> = new Set<NotificationNdjsonLine['type']>([
  'open',
  'notification',
  'heartbeat',
  'resync',
]);

/** A line of `GET /api/notifications/ndjson`, or null for a kind this client does not know (skipped). */
export function asNotificationLine(value: unknown): NotificationNdjsonLine | null {
  if (typeof value !== 'object' || value === null) return null;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && LINE_TYPES.has(type)
    ? (value as NotificationNdjsonLine)
    : null;
}
