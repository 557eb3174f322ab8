import { Injectable } from '@nestjs/common';
import { generateVAPIDKeys } from 'web-push';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { PushRepository } from './push.repository';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/**
 * The VAPID key pair: VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY when set, else the pair kept in the
 * database (made once, by whichever instance asked first). Browsers subscribe with the public
 * key, and a push signed with any other is refused, so every instance must use the same one.
 */
@Injectable()
export class VapidKeysProvider {
  private loaded: Promise<VapidKeys> | null = null;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly repo: PushRepository,
  ) {}

  keys(): Promise<VapidKeys> {
    const configured = this.config.push.vapidKeys;
    if (configured !== null) return Promise.resolve(configured);
    // Read once per process (the row never changes); a failed read is tried again next time.
    this.loaded ??= this.repo.vapidKeys(generateVAPIDKeys()).catch((err: unknown) => {
      this.loaded = null;
      throw err;
    });
    return this.loaded;
  }
}
