import { LineSplitter } from './text-stream.js';

/** One dispatched Server-Sent Event. */
export interface SseMessage {
  /** `message` when the event named none. */
  event: string;
  data: string;
  /** The `id:` of this event, if it had one. */
  id?: string;
  /** The stream's last event id so far (ids carry over, as EventSource keeps them). */
  lastEventId: string;
}

/**
 * An incremental `text/event-stream` parser, as the HTML standard's EventSource parses: fields
 * `event`, `data` (several lines joined by "\n"), `id` (ignored if it holds NUL) and `retry`;
 * comment lines (`:`) ignored; an event is dispatched at a blank line, and only if it has data.
 */
export class SseParser {
  private readonly lines = new LineSplitter(true);
  private data: string[] = [];
  private hasData = false;
  private event = '';
  private id: string | undefined;
  private lastId = '';
  /** The last `retry:` the server asked for, in ms. */
  retryMs: number | undefined;

  push(text: string): SseMessage[] {
    const out: SseMessage[] = [];
    for (const line of this.lines.push(text)) {
      if (line === '') {
        this.dispatch(out);
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') {
        this.data.push(value);
        this.hasData = true;
      } else if (field === 'event') this.event = value;
      else if (field === 'id' && !value.includes('\0')) this.id = this.lastId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    return out;
  }

  private dispatch(out: SseMessage[]): void {
    if (this.hasData) {
      const message: SseMessage = {
        event: this.event === '' ? 'message' : this.event,
        data: this.data.join('\n'),
        lastEventId: this.lastId,
      };
      if (this.id !== undefined) message.id = this.id;
      out.push(message);
    }
    this.data = [];
    this.hasData = false;
    this.event = '';
    this.id = undefined;
  }
}
