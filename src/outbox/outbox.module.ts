import { Global, Module } from '@nestjs/common';
import { OutboxRepository } from './outbox.repository';
import { OutboxWorker } from './outbox.worker';

/** The outbox table and its worker; sinks (webhooks, later Web Push) register with the worker. */
@Global()
@Module({ providers: [OutboxRepository, OutboxWorker], exports: [OutboxRepository, OutboxWorker] })
export class OutboxModule {}
