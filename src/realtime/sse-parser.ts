/**
 * Reading an event stream, the other side of `sse.ts`: what an EventSource makes of the bytes.
 * The server never runs it; the property specs check the framing against it, and the e2e
 * helpers (test/helpers/sse.ts) read real streams with it.
 */

/** One dispatched event: its last id and event name, if any, and its data lines joined. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Parses an event stream as EventSource does (fields, multi-line data, comments ignored). */
export function parseSse(raw: string): SseEvent[] {
  const events: SseEvent[] = [];
  const blocks = raw.split(/\r\n\r\n|\n\n|\r\r/);
  blocks.pop(); // an unterminated tail is not an event yet
  for (const block of blocks) {
    const event: SseEvent = { data: '' };
    const data: string[] = [];
    let hasData = false;
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (line === '' || line.startsWith(':')) continue;
      const idx = line.indexOf(':');
      const field = idx === -1 ? line : line.slice(0, idx);
      let value = idx === -1 ? '' : line.slice(idx + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') {
        data.push(value);
        hasData = true;
      } else if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
    }
    if (!hasData) continue; // retry-only or comment-only blocks dispatch nothing
    event.data = data.join('\n');
    events.push(event);
  }
  return events;
}
