// Test fixtures for the unit specs (not part of the package's entry, so never bundled).
import type { NotificationView } from './contracts.js';

export const note = (seq: number): NotificationView => ({
  id: `n${seq}`,
  seq,
  kind: 'system',
  title: `#${seq}`,
  body: '',
  data: {},
  createdAt: new Date(0).toISOString(),
  readAt: null,
});

/** A Response whose body is the given chunks, as a server streams them. */
export function streamResponse(contentType: string, chunks: readonly string[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': contentType } });
}

export const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
