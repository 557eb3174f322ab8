import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { OutboxWorker } from '../outbox/outbox.worker';
import type { DeliveryPolicy, OutboxDelivery, OutboxSink } from '../outbox/outbox.sink';
import { WebhookHttp } from './webhook-http';
import { webhookHeaders } from './webhook-signature';

export const WEBHOOK_SINK = 'webhook';

/** Retries stop growing at an hour apart (always within the retry window). */
const RETRY_CAP_MS = 60 * 60 * 1000;

/** Network errors name their cause (ECONNREFUSED ...) one level down; say it. */
const reason = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
};

/** The outbox's webhook sink: each row is one signed POST of its event to WEBHOOK_URL. */
@Injectable()
export class WebhookSink implements OutboxSink, OnModuleInit {
  readonly name = WEBHOOK_SINK;
  readonly policy: DeliveryPolicy;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly http: WebhookHttp,
    private readonly worker: OutboxWorker,
  ) {
    const hooks = config.webhooks;
    this.policy = {
      concurrency: hooks?.concurrency ?? 1,
      timeoutMs: hooks?.timeoutMs ?? 10000,
      retryBaseMs: hooks?.retryBaseMs ?? 5000,
      retryCapMs: Math.min(RETRY_CAP_MS, hooks?.retryWindowMs ?? RETRY_CAP_MS),
      retryWindowMs: hooks?.retryWindowMs ?? 86400000,
    };
  }

  onModuleInit(): void {
    if (this.config.webhooks !== null) this.worker.register(this);
  }

  async deliver(delivery: OutboxDelivery, signal: AbortSignal): Promise<void> {
    const hooks = this.config.webhooks;
    if (hooks === null) throw new Error('webhooks are not configured');
    // The WebhookEvent shape; `data` was built when the row was written.
    const body = JSON.stringify({
      id: delivery.id,
      type: delivery.type,
      createdAt: delivery.createdAt,
      data: delivery.data,
    });
    // The attempt's own time, not the event's: receivers check it is recent (replays).
    const timestamp = Math.floor(Date.now() / 1000);
    let status: number;
    try {
      status = await this.http.post(
        hooks.url,
        webhookHeaders(hooks.secret, delivery.id, timestamp, body),
        body,
        signal,
      );
    } catch (err) {
      throw new Error(reason(err), { cause: err });
    }
    if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
  }
}
