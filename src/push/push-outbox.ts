import { Injectable } from '@nestjs/common';
import { OutboxWorker } from '../outbox/outbox.worker';
import { PUSH_SINK } from './push.repository';

/** What the notification insert needs besides pushInsertSql: a wake-up after its commit. */
@Injectable()
export class PushOutbox {
  constructor(private readonly worker: OutboxWorker) {}

  /** A statement that may have written push rows committed: claim them now, here. */
  committed(): void {
    this.worker.nudge(PUSH_SINK);
  }
}
