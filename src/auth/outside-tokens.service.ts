import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  jwtVerify,
  decodeProtectedHeader,
  type FetchImplementation,
  type JWSAlgorithm,
  type RemoteJWKSet,
} from 'jose';
import { errorText, inBackground } from '../common/background';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { isExternalId } from '../users/profile-rules';
import type { OutsideProfile } from '../users/external-users.service';

/** How the key set is fetched: `fetch`, unless a test or another runtime provides its own. */
export const JWKS_FETCH = Symbol('JWKS_FETCH');

/** The outside issuer's algorithms: asymmetric only, so its public keys can never be a MAC key. */
const OUTSIDE_ALGORITHMS: JWSAlgorithm[] = ['RS256', 'ES256'];
/** As for our own tokens: bigger is not a token anyone issues (and not a cookie either). */
const MAX_TOKEN_LENGTH = 4096;
/** An unknown `kid` fetches the set again at most this often (jose's cooldown; the contract's 30 s). */
export const JWKS_COOLDOWN_MS = 30_000;
/** Keys are fetched again this often anyway, so a key the issuer withdrew stops being trusted. */
const REFRESH_MS = 10 * 60_000;
/** While the set cannot be fetched, a new try at most this often (never fetched: RETRY_MS). */
const RETRY_MS = 5_000;
const RETRY_WITH_KEYS_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;

export interface OutsideClaims extends OutsideProfile {
  /** Expiry, epoch seconds. */
  expiresAt: number;
}

/** Where the key set stands, for readiness. */
export interface JwksStatus {
  /** When a key set was last fetched; null: never, so no outside token can be verified. */
  fetchedAt: Date | null;
  /** The current failure streak: since when, and its latest reason; null while fetches succeed. */
  failing: { since: Date; reason: string } | null;
}

interface FailureStreak {
  since: number;
  lastAttempt: number;
  reason: string;
}

const isKeySet = (body: unknown): boolean =>
  typeof body === 'object' &&
  body !== null &&
  Array.isArray((body as { keys?: unknown }).keys) &&
  (body as { keys: unknown[] }).keys.every((k) => typeof k === 'object' && k !== null);

/** An error's message and, for a network failure, its cause (`fetch failed` alone says little). */
const reasonOf = (err: unknown): string => {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = typeof cause?.code === 'string' ? cause.code : cause?.message;
  return typeof detail === 'string' ? `${errorText(err)} (${detail})` : errorText(err);
};

/**
 * Tokens of an outside identity provider (JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE): RS256 or ES256,
 * signed by the key of its JWKS that the header's `kid` names, with the configured `iss` and
 * `aud`, unexpired. jose does the verification and the key choice; this adds what jose leaves to
 * its caller:
 * - the set is fetched at start and kept (no expiry inside jose: a refresh that fails must not
 *   throw away keys that still verify); it is refreshed every 10 minutes in the background, and
 *   at once when an unknown `kid` appears, at most once in 30 s (jose's cooldown);
 * - every fetch's outcome is recorded for readiness, with one warning per failure streak (the
 *   URL's origin and path only; never a token);
 * - while fetches fail, a new one is tried at most every few seconds, so a flood of tokens does
 *   not become a flood of requests to an identity provider that is already down.
 */
@Injectable()
export class OutsideTokens implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OutsideIdentity');
  private readonly issuer: AppConfig['auth']['jwks'];
  private readonly keys: RemoteJWKSet | undefined;
  private readonly shownUrl: string;
  private fetchedAt: number | null = null;
  private failure: FailureStreak | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectConfig() config: AppConfig,
    @Inject(JWKS_FETCH) private readonly fetchImpl: typeof fetch,
  ) {
    this.issuer = config.auth.jwks;
    const url = this.issuer === undefined ? undefined : new URL(this.issuer.url);
    this.shownUrl = url === undefined ? '' : `${url.origin}${url.pathname}`;
    this.keys =
      url === undefined
        ? undefined
        : createRemoteJWKSet(url, {
            timeoutDuration: FETCH_TIMEOUT_MS,
            cooldownDuration: JWKS_COOLDOWN_MS,
            cacheMaxAge: Infinity,
            [customFetch]: this.fetchKeySet,
          });
  }

  get configured(): boolean {
    return this.keys !== undefined;
  }

  onApplicationBootstrap(): void {
    if (this.keys === undefined) return;
    // Not awaited: the service starts (and serves local tokens) whether or not the issuer answers.
    this.reloadInBackground();
    this.timer = setInterval(() => this.tick(), RETRY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * True when the token names the outside issuer (its unverified `iss`, read only to choose the
   * verifier): such a token is verified against the JWKS and nothing else, whatever its header
   * says, so no other key of ours can be made to accept it.
   */
  isFor(token: string): boolean {
    if (this.issuer === undefined || token.length > MAX_TOKEN_LENGTH) return false;
    try {
      return decodeJwt(token).iss === this.issuer.issuer;
    } catch {
      return false;
    }
  }

  /** The token's subject and expiry when everything holds; null otherwise (never throws). */
  async verify(token: string): Promise<OutsideClaims | null> {
    if (this.keys === undefined || this.issuer === undefined) return null;
    try {
      // Keys are picked by `kid` only: without one, a key set of several keys would be guessed at.
      if (typeof decodeProtectedHeader(token).kid !== 'string') return null;
      const { payload } = await jwtVerify(token, this.keys, {
        algorithms: OUTSIDE_ALGORITHMS,
        issuer: this.issuer.issuer,
        audience: this.issuer.audience,
        requiredClaims: ['sub', 'exp'],
      });
      if (!isExternalId(payload.sub) || typeof payload.exp !== 'number') return null;
      return {
        externalId: payload.sub,
        preferredUsername: payload.preferred_username,
        name: payload.name,
        expiresAt: payload.exp,
      };
    } catch {
      // A bad token, or no key set to check it with (that failure is logged by the fetch).
      return null;
    }
  }

  status(): JwksStatus {
    return {
      fetchedAt: this.fetchedAt === null ? null : new Date(this.fetchedAt),
      failing:
        this.failure === null
          ? null
          : { since: new Date(this.failure.since), reason: this.failure.reason },
    };
  }

  /** Retries while failing, refreshes when due. */
  private tick(): void {
    const now = Date.now();
    const due =
      this.failure !== null
        ? now - this.failure.lastAttempt >=
          (this.fetchedAt === null ? RETRY_MS : RETRY_WITH_KEYS_MS)
        : this.fetchedAt === null || now - this.fetchedAt >= REFRESH_MS;
    if (due) this.reloadInBackground();
  }

  private reloadInBackground(): void {
    const keys = this.keys;
    if (keys === undefined) return;
    // The failure is already recorded and logged by fetchKeySet; nothing more to say here.
    inBackground(this.logger, 'JWKS fetch', () => keys.reload().catch(() => undefined));
  }

  /**
   * jose's fetch, observed: a fetch succeeds only with a 200 whose body is a key set. Within
   * RETRY_MS of a failure, fails at once without asking the issuer again.
   */
  private readonly fetchKeySet: FetchImplementation = async (url, init) => {
    const failure = this.failure;
    if (failure !== null && Date.now() - failure.lastAttempt < RETRY_MS)
      throw new Error(`JWKS not fetched again yet after: ${failure.reason}`);
    try {
      const response = await this.fetchImpl(url, init);
      if (response.status !== 200) throw new Error(`JWKS answered HTTP ${response.status}`);
      const body: unknown = await response.json();
      if (!isKeySet(body)) throw new Error('JWKS answer is not a JSON Web Key Set');
      this.succeeded();
      return Response.json(body);
    } catch (err) {
      this.failed(reasonOf(err));
      throw err;
    }
  };

  private succeeded(): void {
    if (this.failure !== null)
      this.logger.log(`JWKS ${this.shownUrl} fetched again; outside tokens are verified`);
    this.failure = null;
    this.fetchedAt = Date.now();
  }

  private failed(reason: string): void {
    const now = Date.now();
    if (this.failure === null) {
      const consequence =
        this.fetchedAt === null
          ? 'no outside token can be verified until it can'
          : `outside tokens are verified with the key set fetched at ${new Date(this.fetchedAt).toISOString()}`;
      this.logger.warn(`JWKS ${this.shownUrl} could not be fetched: ${reason}; ${consequence}`);
      this.failure = { since: now, lastAttempt: now, reason };
      return;
    }
    this.failure = { ...this.failure, lastAttempt: now, reason };
  }
}
