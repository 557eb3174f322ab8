import { ForbiddenException } from '@nestjs/common';
import { MemoryBus } from '../bus/memory.bus';
import { ServiceBusyException } from '../common/service-busy.exception';
import type { AppConfig } from '../config/config.schema';
import { Metrics } from '../metrics/metrics.service';
import type { MessageView } from './chat.views';
import { MessageWriter } from './message-writer';
import type { DraftOutcome, MessageDraft, MessagesRepository } from './messages.repository';

/**
 * The writer's scheduling and bookkeeping, against a repository that answers when the test says
 * so (the SQL itself is tested against Postgres in test/chat-batch.e2e-spec.ts).
 */
class ScriptedRepository {
  readonly calls: MessageDraft[][] = [];
  private readonly pending: Array<{
    drafts: MessageDraft[];
    resolve: (o: DraftOutcome[]) => void;
    reject: (e: unknown) => void;
  }> = [];
  private seq = new Map<string, number>();

  insertBatch(drafts: readonly MessageDraft[]): Promise<DraftOutcome[]> {
    this.calls.push([...drafts]);
    return new Promise((resolve, reject) =>
      this.pending.push({ drafts: [...drafts], resolve, reject }),
    );
  }

  /** Commits the oldest batch still open: every draft created, except senders named 'outsider'. */
  commitNext(): void {
    const next = this.pending.shift();
    if (next === undefined) throw new Error('no batch in flight');
    next.resolve(
      next.drafts.map((d): DraftOutcome => {
        if (d.senderId === 'outsider') return { status: 'forbidden' };
        const seq = (this.seq.get(d.roomId) ?? 0) + 1;
        this.seq.set(d.roomId, seq);
        return { status: 'created', message: view(d, seq) };
      }),
    );
  }

  failNext(err: unknown): void {
    this.pending.shift()?.reject(err);
  }

  get open(): number {
    return this.pending.length;
  }
}

const view = (d: MessageDraft, seq: number): MessageView => ({
  id: `${d.roomId}-${seq}`,
  roomId: d.roomId,
  seq,
  senderId: d.senderId,
  body: d.body,
  clientMsgId: d.clientMsgId,
  createdAt: new Date(0).toISOString(),
});

const draft = (roomId: string, body: string, clientMsgId: string | null = null): MessageDraft => ({
  roomId,
  senderId: 'u1',
  body,
  clientMsgId,
});

/** Lets setImmediate and promise callbacks run. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(chat: Partial<AppConfig['chat']> = {}) {
  const repo = new ScriptedRepository();
  const bus = new MemoryBus('test');
  const published: MessageView[] = [];
  bus.subscribe('chat.message', (m) => published.push(m));
  const config = {
    chat: { writeQueue: 100, writeBatch: 500, writeConcurrency: 2, ...chat },
  } as AppConfig;
  const writer = new MessageWriter(
    repo as unknown as MessagesRepository,
    bus,
    new Metrics(bus),
    config,
  );
  return { repo, writer, published };
}

describe('MessageWriter', () => {
  it('writes sends that arrive together in one batch, and the next ones in the next batch', async () => {
    const { repo, writer, published } = setup({ writeConcurrency: 1 });
    const first = [writer.write(draft('a', '1')), writer.write(draft('b', '2'))];
    await turn();
    const second = [writer.write(draft('a', '3')), writer.write(draft('c', '4'))];
    await turn();
    expect(repo.calls.map((c) => c.map((d) => d.body))).toEqual([['1', '2']]);
    repo.commitNext();
    await expect(Promise.all(first)).resolves.toMatchObject([
      { created: true, message: { seq: 1 } },
      { created: true, message: { seq: 1 } },
    ]);
    await turn();
    expect(repo.calls.map((c) => c.map((d) => d.body))).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    repo.commitNext();
    await expect(Promise.all(second)).resolves.toMatchObject([
      { message: { roomId: 'a', seq: 2 } },
      { message: { roomId: 'c', seq: 1 } },
    ]);
    await turn();
    expect(published.map((m) => m.body)).toEqual(['1', '2', '3', '4']);
  });

  it('sends a clientMsgId repeated inside one batch to the database once, and answers both', async () => {
    const { repo, writer } = setup();
    const sends = [
      writer.write(draft('a', 'x', 'same')),
      writer.write(draft('a', 'y', 'same')),
      writer.write(draft('a', 'z', 'other')),
    ];
    await turn();
    expect(repo.calls[0].map((d) => d.body)).toEqual(['x', 'z']);
    repo.commitNext();
    const [first, repeat, other] = await Promise.all(sends);
    expect(first).toMatchObject({ created: true, message: { body: 'x', seq: 1 } });
    expect(repeat).toEqual({ created: false, message: first.message });
    expect(other).toMatchObject({ created: true, message: { seq: 2 } });
  });

  it('refuses one row of a batch and still commits the rest', async () => {
    const { repo, writer } = setup();
    const ok = writer.write(draft('a', 'fine'));
    const refused = writer.write({ ...draft('a', 'no'), senderId: 'outsider' });
    await turn();
    repo.commitNext();
    const [okResult, refusedResult] = await Promise.allSettled([ok, refused]);
    expect(okResult).toMatchObject({ status: 'fulfilled', value: { created: true } });
    expect(refusedResult).toMatchObject({ status: 'rejected' });
    expect((refusedResult as PromiseRejectedResult).reason).toBeInstanceOf(ForbiddenException);
  });

  it('never writes one room in two concurrent batches, so a room keeps its send order', async () => {
    const { repo, writer } = setup({ writeConcurrency: 2 });
    const a1 = writer.write(draft('a', 'a1'));
    await turn();
    const later = [writer.write(draft('a', 'a2')), writer.write(draft('b', 'b1'))];
    await turn();
    // The second batch may start, but without room a, which the first is still writing.
    expect(repo.calls.map((c) => c.map((d) => d.body))).toEqual([['a1'], ['b1']]);
    repo.commitNext();
    await a1;
    await turn();
    expect(repo.calls.map((c) => c.map((d) => d.body))).toEqual([['a1'], ['b1'], ['a2']]);
    repo.commitNext();
    repo.commitNext();
    await expect(Promise.all(later)).resolves.toMatchObject([
      { message: { body: 'a2', seq: 2 } },
      { message: { body: 'b1', seq: 1 } },
    ]);
  });

  it('refuses with BUSY and a retry delay once the queue is full, and takes sends again after', async () => {
    const { repo, writer } = setup({ writeQueue: 3, writeConcurrency: 1 });
    const inFlight = writer.write(draft('a', '0'));
    await turn();
    const queued = [1, 2, 3].map((i) => writer.write(draft('a', String(i))));
    let busy: unknown;
    try {
      writer.assertCapacity();
    } catch (err) {
      busy = err;
    }
    expect(busy).toBeInstanceOf(ServiceBusyException);
    expect((busy as ServiceBusyException).retryAfterMs).toBeGreaterThan(0);
    expect(() => writer.write(draft('a', '4'))).toThrow(ServiceBusyException);
    repo.commitNext();
    await inFlight;
    await turn();
    repo.commitNext();
    await expect(Promise.all(queued)).resolves.toHaveLength(3);
    await expect(
      (async () => {
        const next = writer.write(draft('a', '5'));
        await turn();
        repo.commitNext();
        return next;
      })(),
    ).resolves.toMatchObject({ message: { seq: 5 } });
  });

  it('fails every send of a failed batch, publishes nothing of it, and goes on with the next', async () => {
    const { repo, writer, published } = setup({ writeConcurrency: 1 });
    const failed = [writer.write(draft('a', 'x')), writer.write(draft('b', 'y'))];
    await turn();
    const next = writer.write(draft('a', 'z'));
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    repo.failNext(down);
    await expect(Promise.all(failed)).rejects.toBe(down);
    await turn();
    repo.commitNext();
    await expect(next).resolves.toMatchObject({ created: true });
    await turn();
    expect(published.map((m) => m.body)).toEqual(['z']);
  });

  it('lets shutdown wait for the sends it already accepted', async () => {
    const { repo, writer } = setup();
    const send = writer.write(draft('a', 'last'));
    let drained = false;
    const shutdown = writer.beforeApplicationShutdown().then(() => (drained = true));
    await turn();
    expect(drained).toBe(false);
    expect(repo.open).toBe(1);
    repo.commitNext();
    await send;
    await shutdown;
    expect(drained).toBe(true);
  });
});
