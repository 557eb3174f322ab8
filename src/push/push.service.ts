import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectConfig, type AppConfig } from '../config/app.config';
import type { NotificationPreferences, PushSubscriptionView } from '../contracts';
import { InvalidPreferences, parsePushPreferences } from './notification-preferences';
import { checkEndpoint, EndpointRefused } from './push-endpoint';
import { PushHttp } from './push-http';
import { PushRepository } from './push.repository';

/** The rules of the push routes: endpoint and key checks, ownership, preferences. */
@Injectable()
export class PushService {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly repo: PushRepository,
    private readonly http: PushHttp,
  ) {}

  async subscribe(
    userId: string,
    endpoint: string,
    keys: { p256dh: string; auth: string },
  ): Promise<string> {
    // The lengths passed the DTO; the point must be an uncompressed one (0x04 first).
    if (Buffer.from(keys.p256dh, 'base64url')[0] !== 4)
      throw new BadRequestException('keys.p256dh must be an uncompressed P-256 public key');
    try {
      await checkEndpoint(endpoint, this.config.push.endpointAllow, (host) =>
        this.http.resolveAll(host),
      );
    } catch (err) {
      if (err instanceof EndpointRefused) throw new BadRequestException(err.message);
      throw err;
    }
    return this.repo.upsertSubscription(userId, endpoint, keys.p256dh, keys.auth);
  }

  subscriptions(userId: string): Promise<PushSubscriptionView[]> {
    return this.repo.subscriptions(userId);
  }

  async unsubscribe(userId: string, id: string): Promise<void> {
    // Someone else's subscription is as "not found" as a missing one.
    if (!(await this.repo.deleteSubscription(userId, id)))
      throw new NotFoundException('subscription not found');
  }

  async preferences(userId: string): Promise<NotificationPreferences> {
    return { push: await this.repo.preferences(userId) };
  }

  async replacePreferences(userId: string, push: unknown): Promise<NotificationPreferences> {
    let prefs;
    try {
      prefs = parsePushPreferences(push);
    } catch (err) {
      if (err instanceof InvalidPreferences) throw new BadRequestException(err.message);
      throw err;
    }
    await this.repo.replacePreferences(userId, prefs);
    return { push: prefs };
  }
}
