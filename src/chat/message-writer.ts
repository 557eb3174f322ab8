import {
  ForbiddenException,
  Injectable,
  Logger,
  NotFoundException,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { Bus } from '../bus/bus';
import { errorText } from '../common/background';
import { ServiceBusyException } from '../common/service-busy.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import {
  isDatabaseUnavailable,
  isDeadlock,
  isUniqueViolation,
  retryWhen,
} from '../database/database-errors';
import { Metrics } from '../metrics/metrics.service';
import type { MessageView } from './chat.views';
import { MessagesRepository, type DraftOutcome, type MessageDraft } from './messages.repository';

export interface WriteResult {
  message: MessageView;
  /** false when the clientMsgId was seen before and the first message is returned again. */
  created: boolean;
}

interface Pending {
  draft: MessageDraft;
  resolve: (result: WriteResult) => void;
  reject: (err: unknown) => void;
}

/** Retry-After bounds for BUSY: soon enough to matter, late enough not to herd. */
const MIN_RETRY_MS = 50;
const MAX_RETRY_MS = 5000;

/**
 * Group commit for chat sends. Every send of this instance (socket and REST) joins a queue; up to
 * `CHAT_WRITE_CONCURRENCY` batches are in flight, and each next one takes everything that arrived
 * meanwhile, so an idle instance writes at once and a busy one writes larger batches by itself
 * (no timer either way). A batch is one
 * statement and one commit (see MessagesRepository.insertBatch); each send is answered after
 * that commit with its own outcome, and the created messages go out in one bus publish.
 * The queue is bounded: past `CHAT_WRITE_QUEUE`, sends are refused at once with BUSY rather
 * than waiting behind a database that cannot keep up.
 */
@Injectable()
export class MessageWriter implements BeforeApplicationShutdown {
  private readonly logger = new Logger('MessageWriter');
  private queue: Pending[] = [];
  /** Batches being written now; at most `CHAT_WRITE_CONCURRENCY`. */
  private inFlight = 0;
  /** Rooms in a batch being written (a room is in one batch at a time). */
  private readonly writing = new Set<string>();
  /** Shutdown waiting for the queue to empty. */
  private readonly drained: Array<() => void> = [];
  private scheduled = false;
  /** Rows written per millisecond, smoothed: how soon a full queue frees up. */
  private rowsPerMs = 1;

  constructor(
    private readonly repo: MessagesRepository,
    private readonly bus: Bus,
    private readonly metrics: Metrics,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    metrics.gauge('realtime_chat_write_queue', 'Chat sends waiting for the database', () =>
      this.pending(),
    );
  }

  /** Sends waiting for a batch. */
  pending(): number {
    return this.queue.length;
  }

  /** Throws BUSY if a send now would not fit the queue; nothing is consumed or written. */
  assertCapacity(): void {
    if (this.queue.length < this.config.chat.writeQueue) return;
    this.metrics.busyRefusals.inc({ path: 'chat.send' });
    const wait = Math.ceil(this.queue.length / this.rowsPerMs);
    throw new ServiceBusyException(Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, wait)));
  }

  /**
   * Resolves after the commit; rejects with 403/404 for a refused row, or the batch's error.
   * Throws ServiceBusyException at once (nothing queued) when the queue is full.
   */
  write(draft: MessageDraft): Promise<WriteResult> {
    this.assertCapacity();
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      this.schedule();
    });
  }

  /** Sends accepted before the drain are written before the database pool closes. */
  beforeApplicationShutdown(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private schedule(): void {
    if (this.inFlight >= this.config.chat.writeConcurrency || this.scheduled) return;
    // Sends whose checks finish in the same turn of the event loop (one Redis reply can resolve
    // many) share the batch; an idle instance pays one setImmediate, not a timer.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.config.chat.writeConcurrency && this.queue.length > 0) {
      const batch = this.take();
      if (batch.length === 0) return; // every queued room is being written: wait for it
      this.inFlight++;
      for (const p of batch) this.writing.add(p.draft.roomId);
      const started = performance.now();
      this.run(batch)
        .catch((err: unknown) => {
          for (const p of batch) p.reject(err);
        })
        .finally(() => {
          const ms = Math.max(0.1, performance.now() - started);
          this.rowsPerMs = 0.8 * this.rowsPerMs + 0.2 * (batch.length / ms);
          this.metrics.chatWriteBatch.observe(batch.length);
          this.metrics.chatWriteSeconds.observe(ms / 1000);
          for (const p of batch) this.writing.delete(p.draft.roomId);
          this.inFlight--;
          this.flush();
          if (this.inFlight === 0 && this.queue.length === 0)
            for (const w of this.drained.splice(0)) w();
        });
    }
  }

  /**
   * The next batch: queued sends, in order, of rooms no batch in flight is writing. A room's
   * sends therefore go to the database one batch after another, in the order they came, so two
   * concurrent batches can never swap the seqs of one client's consecutive messages.
   */
  private take(): Pending[] {
    const max = this.config.chat.writeBatch;
    if (this.writing.size === 0 && this.queue.length <= max) return this.queue.splice(0);
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    for (const p of this.queue) {
      if (batch.length < max && !this.writing.has(p.draft.roomId)) batch.push(p);
      else rest.push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async run(batch: Pending[]): Promise<void> {
    // Repeats inside the batch (a client resending before its ack): only the first goes to the
    // database; the others get its message as a duplicate.
    const firstOf = new Map<string, number>();
    const drafts: MessageDraft[] = [];
    /** For each send: its draft's index, and whether it repeats an earlier send of the batch. */
    const refs: Array<{ index: number; repeat: boolean }> = [];
    for (const { draft } of batch) {
      const key =
        draft.clientMsgId === null
          ? null
          : `${draft.roomId}\u0000${draft.senderId}\u0000${draft.clientMsgId}`;
      const seen = key === null ? undefined : firstOf.get(key);
      if (seen !== undefined) {
        refs.push({ index: seen, repeat: true });
        continue;
      }
      if (key !== null) firstOf.set(key, drafts.length);
      refs.push({ index: drafts.length, repeat: false });
      drafts.push(draft);
    }
    let outcomes: DraftOutcome[];
    try {
      outcomes = await retryWhen(
        () => this.repo.insertBatch(drafts),
        (err) => isUniqueViolation(err, 'messages_client_msg_key') || isDeadlock(err),
      );
    } catch (err) {
      if (!isDatabaseUnavailable(err))
        this.logger.error(`batch of ${drafts.length} failed: ${errorText(err)}`);
      throw err;
    }
    // A repeated clientMsgId publishes its first message again: if that one's publish was lost
    // (Redis was down), the retry is what brings it to the other instances; receivers drop seqs
    // they already delivered.
    const toPublish: MessageView[] = [];
    for (const o of outcomes)
      if (o.status === 'created' || o.status === 'duplicate') toPublish.push(o.message);
    // Published before the acks go out, so a receiver can never be told about a message later
    // than its sender's ack implies; the bus never throws into a committed write.
    this.bus.publishBatch('chat.message', toPublish);
    batch.forEach((p, i) => {
      const { index, repeat } = refs[i];
      const outcome = outcomes[index];
      switch (outcome.status) {
        case 'forbidden':
          return p.reject(new ForbiddenException('not a member of this room'));
        case 'not_found':
          return p.reject(new NotFoundException('room not found'));
        default:
          return p.resolve({
            message: outcome.message,
            created: !repeat && outcome.status === 'created',
          });
      }
    });
  }
}
