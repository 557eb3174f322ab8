/**
 * The load client's Socket.IO connection: Engine.IO 4 / Socket.IO 5 protocol over a bare `ws`
 * WebSocket, with no reconnection, timers or per-packet objects. One process drives thousands of
 * these, so the client stays cheap enough that the server, not the client, is what saturates.
 * The same client drives the service and the bare peers.
 */
import type { AckOf, ClientEvent, ClientEventMap } from '@realtime-service/client';
import WebSocket from 'ws';

export type FrameHandler = (event: string, frame: string) => void;

export class SioClient {
  private acks = new Map<number, (payload: unknown) => void>();
  private nextAck = 1;
  /** Called with each server event's name and its whole text frame (`42["name",...]`). */
  onEvent: FrameHandler = () => undefined;

  private constructor(private readonly ws: WebSocket) {}

  /** Opens the socket and connects the default namespace with `auth`; rejects if refused. */
  static connect(url: string, auth: Record<string, string>): Promise<SioClient> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, {
      perMessageDeflate: false,
    });
    const client = new SioClient(ws);
    return new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('close', () => reject(new Error('closed during connect')));
      // binaryType is 'nodebuffer' (the default): every message arrives as one Buffer.
      ws.on('message', (data: Buffer) => {
        const frame = data.toString('utf8');
        if (frame === '2') ws.send('3');
        else if (frame.startsWith('0{')) ws.send(`40${JSON.stringify(auth)}`);
        else if (frame.startsWith('40')) resolve(client);
        else if (frame.startsWith('44')) reject(new Error(`refused: ${frame.slice(2)}`));
        else if (frame.startsWith('42['))
          client.onEvent(frame.slice(4, frame.indexOf('"', 4)), frame);
        else if (frame.startsWith('43')) client.settle(frame);
      });
    });
  }

  /** Emits a client event and resolves with its acknowledgement, typed by the contract. */
  request<E extends ClientEvent>(
    event: E,
    payload: ClientEventMap[E]['payload'],
  ): Promise<AckOf<E>> {
    const id = this.nextAck++;
    return new Promise((resolve) => {
      // The frame is JSON from the server: the contract says what this event's ack holds.
      this.acks.set(id, resolve as (payload: unknown) => void);
      this.ws.send(`42${id}${JSON.stringify([event, payload])}`);
    });
  }

  close(): void {
    this.ws.removeAllListeners('close');
    this.ws.on('error', () => undefined);
    this.ws.terminate();
  }

  private settle(frame: string): void {
    const open = frame.indexOf('[');
    const id = Number(frame.slice(2, open));
    const resolve = this.acks.get(id);
    if (resolve === undefined) return;
    this.acks.delete(id);
    resolve((JSON.parse(frame.slice(open)) as unknown[])[0]);
  }
}

/** Connects `count` sockets, `concurrency` handshakes at a time. */
export async function connectMany(
  count: number,
  concurrency: number,
  open: (i: number) => Promise<SioClient>,
): Promise<SioClient[]> {
  const sockets: SioClient[] = new Array<SioClient>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        sockets[i] = await open(i);
      }
    }),
  );
  return sockets;
}
