import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { generateRequestDetails } from 'web-push';
import { PresenceService } from '../chat/presence/presence.service';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { Metrics } from '../metrics/metrics.service';
import { toNotificationView } from '../notifications/notification.views';
import { OutboxWorker } from '../outbox/outbox.worker';
import {
  UndeliverableError,
  type DeliveryPolicy,
  type OutboxDelivery,
  type OutboxSink,
} from '../outbox/outbox.sink';
import { checkEndpointUrl, EndpointRefused } from './push-endpoint';
import { PushHttp } from './push-http';
import { PUSH_SINK, PushRepository, type PushRowData, type PushTarget } from './push.repository';
import { VapidKeysProvider } from './vapid-keys';

/** Retries stop growing at an hour apart (always within the retry window). */
const RETRY_CAP_MS = 60 * 60 * 1000;

/** How a row ended when no error was thrown. */
type Settled = 'sent' | 'online' | 'disabled' | 'read' | 'gone' | 'expired';

/** Network errors name their cause (ECONNREFUSED ...) one level down. */
const causeOf = (err: unknown): unknown =>
  err instanceof Error && err.cause !== undefined ? err.cause : err;

/**
 * The outbox's Web Push sink: each row is one notification for one subscription. Whether the
 * user is offline is decided here, at send time, on the shared presence store: a user who
 * reconnected (anywhere) since the notification was written got it live, and is not pushed.
 */
@Injectable()
export class PushSink implements OutboxSink, OnModuleInit {
  readonly name = PUSH_SINK;
  readonly policy: DeliveryPolicy;
  private readonly logger = new Logger('Push');

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly repo: PushRepository,
    private readonly http: PushHttp,
    private readonly vapid: VapidKeysProvider,
    private readonly presence: PresenceService,
    private readonly worker: OutboxWorker,
    private readonly metrics: Metrics,
  ) {
    const push = config.push;
    this.policy = {
      concurrency: push.concurrency,
      timeoutMs: push.timeoutMs,
      retryBaseMs: push.retryBaseMs,
      retryCapMs: Math.min(RETRY_CAP_MS, push.retryWindowMs),
      retryWindowMs: push.retryWindowMs,
    };
  }

  onModuleInit(): void {
    this.worker.register(this);
  }

  async deliver(delivery: OutboxDelivery, signal: AbortSignal): Promise<void> {
    try {
      this.metrics.pushes.inc({ outcome: await this.attempt(delivery, signal) });
    } catch (err) {
      const outcome =
        err instanceof EndpointRefused
          ? 'refused'
          : err instanceof UndeliverableError
            ? 'failed'
            : 'retried';
      this.metrics.pushes.inc({ outcome });
      if (err instanceof EndpointRefused) {
        this.logger.warn(`push ${delivery.id} not sent: ${err.message}`);
        throw new UndeliverableError(err.message, { cause: err });
      }
      throw err;
    }
  }

  private async attempt(delivery: OutboxDelivery, signal: AbortSignal): Promise<Settled> {
    // Written by pushInsertSql only.
    const data = delivery.data as PushRowData;
    const target = await this.repo.target(data);
    if (target === null) return 'gone';
    const view = toNotificationView(target.notification);
    // Turned off or read (on another device) since the row was written: nothing to tell.
    if (target.push === false) return 'disabled';
    if (view.readAt !== null) return 'read';
    if ((await this.presence.online([target.userId])).has(target.userId)) return 'online';
    const status = await this.send(target, JSON.stringify(view), signal);
    if (status === 404 || status === 410) {
      // RFC 8030: the subscription expired or was unsubscribed; it never comes back.
      await this.repo.expireSubscription(data.subscriptionId);
      return 'expired';
    }
    if (status >= 200 && status <= 299) return 'sent';
    if (status === 429 || status >= 500) throw new Error(`HTTP ${status}`);
    // Any other answer is about the request itself (bad JWT, payload too large ...).
    throw new UndeliverableError(`HTTP ${status}`);
  }

  /** The encrypted, VAPID-signed POST (RFC 8291 aes128gcm, RFC 8292); its status. */
  private async send(target: PushTarget, payload: string, signal: AbortSignal): Promise<number> {
    const { push } = this.config;
    // Checked again at send time: PUSH_ENDPOINT_ALLOW may have changed since registration.
    const endpoint = checkEndpointUrl(target.endpoint, push.endpointAllow);
    const keys = await this.vapid.keys();
    const details = generateRequestDetails(
      { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
      payload,
      {
        TTL: push.ttlSeconds,
        contentEncoding: 'aes128gcm',
        urgency: 'normal',
        vapidDetails: { subject: push.subject, ...keys },
      },
    );
    const headers = Object.fromEntries(
      Object.entries(details.headers).map(([k, v]) => [k, String(v)]),
    );
    try {
      return await this.http.post(
        endpoint.url,
        headers,
        details.body,
        signal,
        !endpoint.allowListed,
      );
    } catch (err) {
      const cause = causeOf(err);
      if (cause instanceof EndpointRefused) throw cause;
      throw err;
    }
  }
}
