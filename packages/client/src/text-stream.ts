/** Splits text that arrives in chunks into lines; a line ending split across chunks is handled. */
export class LineSplitter {
  private buffer = '';
  /** The last chunk ended in CR: a LF opening the next one belongs to it (CRLF). */
  private skipLf = false;

  constructor(
    /** Also end a line at a lone CR (the SSE rule); NDJSON ends lines at LF only. */
    private readonly loneCr: boolean,
  ) {}

  /** Feeds text; returns the lines it completed, without their endings. */
  push(text: string): string[] {
    if (text === '') return [];
    if (this.skipLf && text.startsWith('\n')) text = text.slice(1);
    this.skipLf = false;
    this.buffer += text;
    const lines: string[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c === '\n') {
        const end = !this.loneCr && i > start && this.buffer[i - 1] === '\r' ? i - 1 : i;
        lines.push(this.buffer.slice(start, end));
        start = i + 1;
      } else if (c === '\r' && this.loneCr) {
        lines.push(this.buffer.slice(start, i));
        if (i + 1 === this.buffer.length) this.skipLf = true;
        else if (this.buffer[i + 1] === '\n') i++;
        start = i + 1;
      }
    }
    this.buffer = this.buffer.slice(start);
    return lines;
  }
}

/** Reads a byte stream as UTF-8 text, chunk by chunk, until it ends. */
export async function readText(
  body: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onText(decoder.decode(value, { stream: true }));
    }
    const rest = decoder.decode();
    if (rest !== '') onText(rest);
  } finally {
    reader.releaseLock();
  }
}
