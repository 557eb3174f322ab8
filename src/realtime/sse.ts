/**
 * Server-Sent Events framing. Field values are checked so that no input can start another
 * field or event: ids and event names may not contain CR, LF or NUL, and data is split on every
 * line ending into several `data:` lines (which the client joins back with "\n").
 */

const LINE_BREAK = /\r\n|\r|\n/;
const FORBIDDEN_IN_FIELD = /[\r\n\0]/;

export interface SseEventFields {
  id?: string | number;
  event?: string;
  data: string;
}

export function sseEvent({ id, event, data }: SseEventFields): string {
  let frame = '';
  if (id !== undefined) {
    const value = String(id);
    if (FORBIDDEN_IN_FIELD.test(value)) throw new Error('an SSE id may not contain CR, LF or NUL');
    frame += `id: ${value}\n`;
  }
  if (event !== undefined) {
    if (FORBIDDEN_IN_FIELD.test(event) || event.length === 0)
      throw new Error('an SSE event name must be one line');
    frame += `event: ${event}\n`;
  }
  for (const line of data.split(LINE_BREAK)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

/** A comment line: ignored by EventSource, keeps proxies from closing an idle stream. */
export function sseComment(text = ''): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/**
 * The reconnection delay one stream is told: 1-5 s, drawn per stream. After a restart every
 * EventSource would otherwise come back at the same instant (a thundering herd on the next
 * instance); spread over four seconds, they arrive as a ramp.
 */
export function jitteredRetryMs(random: () => number = Math.random): number {
  return 1000 + Math.floor(random() * 4000);
}

export function sseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};
