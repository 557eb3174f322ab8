import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { CronTime, validateCronExpression } from 'cron';
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../contracts/webhooks.contract';

/** Thrown for a bad configuration value; `main.ts` prints its message alone and exits 1. */
export class ConfigError extends Error {}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

// Cron: checked by the `cron` library itself (the one @nestjs/schedule and the reminder
// scheduler run), so what starts is what runs: 5 fields, 6 with leading seconds, or a preset
// such as @weekly. An expression that never fires (31 February) is refused too.
const cron = z
  .string()
  .trim()
  .superRefine((expression, ctx) => {
    const check = validateCronExpression(expression);
    if (!check.valid) {
      const reason = check.error?.message ?? 'not understood';
      ctx.addIssue({ code: 'custom', message: `must be a cron expression (${reason})` });
      return;
    }
    try {
      new CronTime(expression).sendAt();
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a cron expression that fires' });
    }
  });

const timeZone = z
  .string()
  .trim()
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as UTC or Europe/Berlin');

const symbols = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter((s) => s !== ''),
  )
  .refine(
    (list) =>
      list.length >= 1 && list.length <= 500 && list.every((s) => /^[A-Z0-9.]{1,10}$/.test(s)),
    'must be a comma-separated list of 1-500 symbols of [A-Z0-9.]{1,10}',
  );

/** Names Express knows for whole ranges, as TRUST_PROXY may use them. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/** One trusted hop: a range name, an address, or a CIDR (address/prefix within its family). */
function isProxyHop(hop: string): boolean {
  if (PROXY_RANGES.includes(hop)) return true;
  const [address, prefix, ...rest] = hop.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** A comma-separated list (empty by default), split and trimmed, empty items dropped. */
const commaList = () =>
  z
    .string()
    .trim()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    );

const trustProxy = commaList().refine((hops) => hops.every(isProxyHop), {
  message:
    'must be a comma-separated list of CIDRs or addresses (or loopback, linklocal, uniquelocal)',
});

const isUrlWith = (value: string, protocols: string[]): boolean => {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine((v) => isUrlWith(v, protocols), `must be a URL with scheme ${protocols.join(' or ')}`);

/** The environment, as the service reads it. Every variable has a default except the secrets. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(3000),
  /** A second port for /metrics and /api/admin only (0: any free port); unset: they are on PORT. */
  ADMIN_PORT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    int(0, 65535).optional(),
  ),
  DATABASE_URL: optionalString.pipe(url(['postgres:', 'postgresql:']).optional()),
  PGLITE_DATA_DIR: z.string().trim().min(1).default('./data'),
  REDIS_URL: optionalString.pipe(url(['redis:', 'rediss:']).optional()),
  /** Seeds of a Redis Cluster (`host:port,host:port`), instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: commaList().refine(
    (nodes) => nodes.every((n) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(n)),
    { message: 'must be a comma-separated list of host:port' },
  ),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9:_.-]')
    .default('rt:'),
  JWT_SECRET: optionalString,
  JWT_PUBLIC_KEY: optionalString,
  /** An outside issuer's key set; tokens it signed are accepted (with JWT_ISSUER and JWT_AUDIENCE). */
  JWT_JWKS_URL: optionalString.pipe(url(['http:', 'https:']).optional()),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  JWT_TTL_SECONDS: int(60, 60 * 60 * 24 * 30).default(60 * 60 * 12),
  SERVICE_API_KEY: optionalString,
  CORS_ORIGINS: commaList().refine(
    (list) => list.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)),
    {
      message: 'must be comma-separated origins like https://app.example.com',
    },
  ),
  STOCK_FEED: z.enum(['simulated', 'external']).default('simulated'),
  STOCK_SYMBOLS: symbols.default(['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'TSLA', 'META', 'NFLX']),
  STOCK_TICK_MS: int(10, 60000).default(1000),
  WEIGHT_REMINDER_CRON: cron.default('0 9 * * 1'),
  WEIGHT_REMINDER_TZ: timeZone.default('UTC'),
  WEIGHT_REMINDER_STALE_DAYS: int(0, 365).default(7),
  WEIGHT_REMINDER_CHUNK: int(1, 1000000).default(50000),
  WEIGHT_REMINDER_RETRY_MS: int(500, 3600000).default(15000),
  SSE_HEARTBEAT_MS: int(1000, 300000).default(15000),
  RATE_LIMIT_MESSAGES: int(1, 1000000).default(20),
  RATE_LIMIT_WINDOW_MS: int(100, 3600000).default(10000),
  AUTH_RATE_LIMIT: int(0, 1000000).default(30),
  RATE_LIMIT_ADMIN: int(1, 10000000).default(6000),
  /** The transports lab's demo endpoints (publish to yourself, the demo room): off unless set. */
  DEMO_MODE: z
    .enum(['true', 'false', '1', '0', ''])
    .default('')
    .transform((v) => v === 'true' || v === '1'),
  MESSAGE_RETENTION_DAYS: int(0, 36500).default(0),
  NOTIFICATION_RETENTION_DAYS: int(0, 36500).default(0),
  RETENTION_CRON: cron.default('17 3 * * *'),
  RETENTION_CHUNK: int(10, 100000).default(5000),
  MAX_ROOM_MEMBERS: int(2, 1000000).default(1000),
  RATE_LIMIT_ROOMS: int(1, 1000000).default(30),
  PRESENCE_MAX_ROOM_SIZE: int(0, 1000000).default(200),
  CHAT_WRITE_QUEUE: int(1, 1000000).default(5000),
  CHAT_WRITE_BATCH: int(1, 5000).default(500),
  CHAT_WRITE_CONCURRENCY: int(1, 16).default(2),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9_.:-]')
    .optional(),
  SHUTDOWN_TIMEOUT_MS: int(1000, 60000).default(8000),
  MAX_CONNECTIONS_PER_USER: int(1, 10000).default(20),
  TRUST_PROXY: trustProxy,
  DB_STATEMENT_TIMEOUT_MS: int(100, 3600000).default(5000),
  STUN_URLS: commaList().refine((list) => list.every((u) => /^stuns?:[^\s]+$/.test(u)), {
    message: 'must be a comma-separated list of stun: or stuns: URLs',
  }),
  TURN_URLS: commaList().refine((list) => list.every((u) => /^turns?:[^\s]+$/.test(u)), {
    message: 'must be a comma-separated list of turn: or turns: URLs',
  }),
  TURN_SECRET: optionalString,
  TURN_TTL_SECONDS: int(60, 86400).default(3600),
  CALL_RING_TIMEOUT_MS: int(500, 600000).default(60000),
  CALL_SIGNALS_PER_SECOND: int(1, 1000).default(50),
  WEBHOOK_URL: optionalString.pipe(url(['http:', 'https:']).optional()),
  WEBHOOK_SECRET: optionalString,
  WEBHOOK_EVENTS: commaList().refine(
    (list) => list.every((e) => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(e)),
    { message: `must be a comma-separated list of ${WEBHOOK_EVENT_TYPES.join(', ')}` },
  ),
  WEBHOOK_TIMEOUT_MS: int(100, 60000).default(10000),
  WEBHOOK_CONCURRENCY: int(1, 256).default(8),
  WEBHOOK_RETRY_BASE_MS: int(10, 3600000).default(5000),
  WEBHOOK_RETRY_WINDOW_MS: int(1000, 7 * 86400000).default(86400000),
  VAPID_PUBLIC_KEY: optionalString,
  VAPID_PRIVATE_KEY: optionalString,
  VAPID_SUBJECT: optionalString.pipe(url(['mailto:', 'https:']).optional()),
  PUSH_ENDPOINT_ALLOW: commaList().refine(
    (prefixes) => prefixes.every((p) => isUrlWith(p, ['http:', 'https:'])),
    { message: 'must be a comma-separated list of http(s) URL prefixes' },
  ),
  PUSH_TTL_SECONDS: int(0, 28 * 86400).default(86400),
  PUSH_CONCURRENCY: int(1, 256).default(16),
  PUSH_TIMEOUT_MS: int(100, 60000).default(10000),
  PUSH_RETRY_BASE_MS: int(10, 3600000).default(5000),
});

export type Env = z.infer<typeof envSchema>;

export interface AppConfig {
  env: Env['NODE_ENV'];
  port: number;
  instanceId: string;
  logLevel: Env['LOG_LEVEL'];
  shutdownTimeoutMs: number;
  corsOrigins: string[];
  /** Sockets, notification streams and waiting long-polls one user may hold on one instance, together. */
  maxConnectionsPerUser: number;
  /** statementTimeoutMs: the longest one statement may hold a pooled connection. */
  database: { url: string | undefined; pgliteDataDir: string; statementTimeoutMs: number };
  /** Proxy hops whose X-Forwarded-For is believed; empty: the client IP is the TCP peer's. */
  trustProxy: string[];
  redis: {
    url: string | undefined;
    /** Set: a Redis Cluster (REDIS_URL is then not allowed). */
    clusterNodes: Array<{ host: string; port: number }> | undefined;
    prefix: string;
  };
  auth: {
    jwtSecret: string;
    jwtPublicKey: string | undefined;
    /** An outside issuer: tokens signed by a key of its JWKS, with this `iss` and `aud`. */
    jwks: { url: string; issuer: string; audience: string } | undefined;
    tokenTtlSeconds: number;
    /** Every accepted X-Api-Key: several while a key is being rotated. */
    serviceApiKeys: string[];
    rateLimitPerMinute: number;
  };
  /**
   * writeQueue: sends one instance holds waiting for the database before it answers BUSY;
   * writeBatch: the most sends written in one statement.
   */
  chat: {
    /** maxRoomMembers: group room size; roomRateLimit: rooms created and members added per user a minute. */
    maxRoomMembers: number;
    roomRateLimit: number;
    /** Rooms above this size get no presence events (room:presence still answers). */
    presenceMaxRoomSize: number;
    rateLimitMessages: number;
    rateLimitWindowMs: number;
    writeQueue: number;
    writeBatch: number;
    writeConcurrency: number;
  };
  sse: { heartbeatMs: number };
  stocks: { feed: Env['STOCK_FEED']; symbols: string[]; tickMs: number };
  /** reconcileMs: how often each instance checks the latest period ran (misfires, failed runs). */
  /** chunkUsers: users with a goal per chunk (one statement over an id range) of a run. */
  reminders: {
    cron: string;
    timeZone: string;
    staleDays: number;
    reconcileMs: number;
    chunkUsers: number;
  };
  /**
   * Days kept (0: forever); the daily job (cron in UTC) deletes older rows `chunk` at a time.
   * Expired logins and old job runs go too, whatever these say.
   */
  retention: { messageDays: number; notificationDays: number; cron: string; chunk: number };
  /** The demo endpoints of the transports lab (`/api/demo`) are served. */
  demoMode: boolean;
  /**
   * rateLimitPerMinute: writes through the server API (/api/admin) per minute, across instances,
   * all keys together. port: ADMIN_PORT, the only port of /metrics and /api/admin when set.
   */
  admin: { rateLimitPerMinute: number; port: number | undefined };
  /** Secrets still set to a value the documentation shows (`change-me...`): warned about at start. */
  placeholderSecrets: string[];
  /**
   * ringTimeoutMs: a call nobody joined ends after it. signalsPerSecond: per socket. TURN
   * credentials are made only with both turnUrls and turnSecret.
   */
  calls: {
    stunUrls: string[];
    turnUrls: string[];
    turnSecret: string | undefined;
    turnTtlSeconds: number;
    ringTimeoutMs: number;
    signalsPerSecond: number;
  };
  /** Null when WEBHOOK_URL is unset: no events are recorded and no worker runs. */
  webhooks: WebhooksConfig | null;
  push: PushConfig;
}

export interface PushConfig {
  /** Both VAPID keys (base64url), or null: the pair kept in the database is used. */
  vapidKeys: { publicKey: string; privateKey: string } | null;
  /** The VAPID JWT's `sub`: how a push service reaches the operator. */
  subject: string;
  /** URL prefixes allowed besides https: to public addresses (tests, private push services). */
  endpointAllow: string[];
  ttlSeconds: number;
  /** Pushes in flight per instance. */
  concurrency: number;
  timeoutMs: number;
  retryBaseMs: number;
  /** Retries stop once the push would have expired at the push service anyway (its TTL). */
  retryWindowMs: number;
}

/** Used when VAPID_SUBJECT is unset; push services may ask for a real contact. */
export const DEFAULT_VAPID_SUBJECT = 'mailto:push@example.invalid';

/** Length of a base64url text's bytes, or -1 when it is not base64url. */
const base64UrlBytes = (value: string): number =>
  /^[A-Za-z0-9_-]+$/.test(value) ? Buffer.from(value, 'base64url').length : -1;

function pushConfig(env: Env): PushConfig {
  const { VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey } = env;
  if ((publicKey === undefined) !== (privateKey === undefined))
    throw new ConfigError(
      'Invalid configuration: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set together (or both left unset)',
    );
  // An uncompressed P-256 point and its 32-byte scalar, as web-push generateVAPIDKeys writes them.
  if (publicKey !== undefined && base64UrlBytes(publicKey) !== 65)
    throw new ConfigError(
      'Invalid configuration: VAPID_PUBLIC_KEY must be a base64url P-256 public key (65 bytes)',
    );
  if (privateKey !== undefined && base64UrlBytes(privateKey) !== 32)
    throw new ConfigError(
      'Invalid configuration: VAPID_PRIVATE_KEY must be a base64url P-256 private key (32 bytes)',
    );
  return {
    vapidKeys:
      publicKey !== undefined && privateKey !== undefined ? { publicKey, privateKey } : null,
    subject: env.VAPID_SUBJECT ?? DEFAULT_VAPID_SUBJECT,
    endpointAllow: env.PUSH_ENDPOINT_ALLOW,
    ttlSeconds: env.PUSH_TTL_SECONDS,
    concurrency: env.PUSH_CONCURRENCY,
    timeoutMs: env.PUSH_TIMEOUT_MS,
    retryBaseMs: env.PUSH_RETRY_BASE_MS,
    // At least a minute, so a TTL of 0 (now or never) still survives a restart.
    retryWindowMs: Math.max(60000, env.PUSH_TTL_SECONDS * 1000),
  };
}

export interface WebhooksConfig {
  url: string;
  /** The HMAC key: a `whsec_` secret's decoded bytes, any other value's own bytes. */
  secret: Buffer;
  events: ReadonlySet<WebhookEventType>;
  /** One attempt's limit; a claimed row's lease is derived from it. */
  timeoutMs: number;
  /** Requests in flight per instance. */
  concurrency: number;
  /** The first retry's ceiling; each next one doubles it (full jitter below it). */
  retryBaseMs: number;
  /** Retries stop this long after the event was created (then `failed`). */
  retryWindowMs: number;
}

/** The Standard Webhooks secret form: `whsec_` then base64 of the key. */
const WHSEC = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** Standard Webhooks asks for at least 24 bytes (192 bits) of key. */
const MIN_WEBHOOK_KEY_BYTES = 24;

function webhooksConfig(env: Env): WebhooksConfig | null {
  if (env.WEBHOOK_URL === undefined) return null;
  const raw = env.WEBHOOK_SECRET;
  if (raw === undefined)
    throw new ConfigError('Invalid configuration: WEBHOOK_URL needs WEBHOOK_SECRET');
  const whsec = WHSEC.exec(raw);
  const secret = whsec !== null ? Buffer.from(whsec[1], 'base64') : Buffer.from(raw, 'utf8');
  if (secret.length < MIN_WEBHOOK_KEY_BYTES)
    throw new ConfigError(
      `Invalid configuration: WEBHOOK_SECRET must be at least ${MIN_WEBHOOK_KEY_BYTES} bytes (after decoding a whsec_ secret)`,
    );
  const events = env.WEBHOOK_EVENTS.length > 0 ? env.WEBHOOK_EVENTS : WEBHOOK_EVENT_TYPES;
  return {
    url: env.WEBHOOK_URL,
    secret,
    events: new Set(events as WebhookEventType[]),
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    concurrency: env.WEBHOOK_CONCURRENCY,
    retryBaseMs: env.WEBHOOK_RETRY_BASE_MS,
    retryWindowMs: env.WEBHOOK_RETRY_WINDOW_MS,
  };
}

/** Dev-only secrets: used when both Postgres and Redis are unset (laptop mode) and said in the log. */
const EMBEDDED_DEFAULTS = {
  jwtSecret: randomBytes(32).toString('hex'),
  serviceApiKey: 'dev-service-key',
};

const MIN_SECRET_LENGTH = 16;

/**
 * How the documented example secrets look: .env.example's `change-me-to-a-long-random-string`,
 * docker-compose.yml's `compose-dev-jwt-secret-change-me`, deploy/k8s's Secret. They are
 * accepted, so `docker compose up` works out of the box, and named loudly at every start.
 */
const PLACEHOLDER = /change[-_]?me/i;

const SECRETS = ['JWT_SECRET', 'SERVICE_API_KEY', 'TURN_SECRET', 'WEBHOOK_SECRET'] as const;

/** The secrets that are still a documented placeholder (any key of a rotating SERVICE_API_KEY). */
export function placeholderSecrets(env: Pick<Env, (typeof SECRETS)[number]>): string[] {
  return SECRETS.filter((name) => PLACEHOLDER.test(env[name] ?? ''));
}

/**
 * SERVICE_API_KEY as its list of keys: comma-separated, so a new key can be deployed next to the
 * old one and the old one dropped once every caller has moved (no flag day).
 */
export function splitApiKeys(value: string): string[] {
  return value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

/** The outside issuer, when JWT_JWKS_URL is set; its `iss` and `aud` are then required too. */
function outsideIssuer(env: Env): AppConfig['auth']['jwks'] {
  const { JWT_JWKS_URL: url, JWT_ISSUER: issuer, JWT_AUDIENCE: audience } = env;
  if (url === undefined) {
    // Checked only against the JWKS: set alone they would look like a check that never happens.
    if (issuer !== undefined || audience !== undefined)
      throw new ConfigError(
        'Invalid configuration: JWT_ISSUER and JWT_AUDIENCE are used only with JWT_JWKS_URL; set it or unset them',
      );
    return undefined;
  }
  if (issuer === undefined || audience === undefined)
    throw new ConfigError(
      'Invalid configuration: JWT_JWKS_URL needs JWT_ISSUER and JWT_AUDIENCE (the iss and aud its tokens must carry)',
    );
  return { url, issuer, audience };
}

/**
 * Parses and validates the environment into the one typed config object.
 * Throws ConfigError naming the first offending variable.
 */
export function parseConfig(
  raw: NodeJS.ProcessEnv | Record<string, string | undefined>,
): AppConfig {
  const result = envSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue.path[0] ?? 'environment');
    const value = raw[name];
    const secret = /SECRET|KEY|PASSWORD/.test(name);
    const shown =
      value === undefined || secret ? '' : ` (got ${JSON.stringify(value.slice(0, 80))})`;
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}${shown}`);
  }
  const env = result.data;
  if (env.REDIS_URL !== undefined && env.REDIS_CLUSTER_NODES.length > 0)
    throw new ConfigError(
      'Invalid configuration: REDIS_URL and REDIS_CLUSTER_NODES are exclusive; set one',
    );
  if (env.ADMIN_PORT !== undefined && env.ADMIN_PORT !== 0 && env.ADMIN_PORT === env.PORT)
    throw new ConfigError('Invalid configuration: ADMIN_PORT must differ from PORT');
  if (env.TURN_URLS.length > 0 && (env.TURN_SECRET === undefined || env.TURN_SECRET.length < 16))
    throw new ConfigError(
      'Invalid configuration: TURN_URLS needs TURN_SECRET (at least 16 characters, the static-auth-secret of the TURN server)',
    );
  const redisSet = env.REDIS_URL !== undefined || env.REDIS_CLUSTER_NODES.length > 0;
  const embedded = env.DATABASE_URL === undefined && !redisSet;
  const requireSecret = (name: 'JWT_SECRET' | 'SERVICE_API_KEY', fallback: string): string => {
    const value = env[name];
    if (value !== undefined) {
      if (value.length < MIN_SECRET_LENGTH)
        throw new ConfigError(
          `Invalid configuration: ${name} must be at least ${MIN_SECRET_LENGTH} characters`,
        );
      return value;
    }
    // Several instances must share the secret, so only the single-process laptop mode may invent one.
    if (embedded) return fallback;
    throw new ConfigError(
      `Invalid configuration: ${name} is required when DATABASE_URL, REDIS_URL or REDIS_CLUSTER_NODES is set`,
    );
  };
  const jwtSecret = requireSecret('JWT_SECRET', EMBEDDED_DEFAULTS.jwtSecret);
  const apiKeys = env.SERVICE_API_KEY === undefined ? undefined : splitApiKeys(env.SERVICE_API_KEY);
  if (
    apiKeys !== undefined &&
    (apiKeys.length === 0 || apiKeys.some((k) => k.length < MIN_SECRET_LENGTH))
  )
    throw new ConfigError(
      `Invalid configuration: SERVICE_API_KEY must be one or more comma-separated keys of at least ${MIN_SECRET_LENGTH} characters each`,
    );
  const serviceApiKeys = apiKeys ?? [
    requireSecret('SERVICE_API_KEY', EMBEDDED_DEFAULTS.serviceApiKey),
  ];
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    instanceId: env.INSTANCE_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    logLevel: env.LOG_LEVEL,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    corsOrigins: env.CORS_ORIGINS,
    maxConnectionsPerUser: env.MAX_CONNECTIONS_PER_USER,
    database: {
      url: env.DATABASE_URL,
      pgliteDataDir: env.PGLITE_DATA_DIR,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    },
    trustProxy: env.TRUST_PROXY,
    redis: {
      url: env.REDIS_URL,
      clusterNodes:
        env.REDIS_CLUSTER_NODES.length > 0
          ? env.REDIS_CLUSTER_NODES.map((n) => {
              const at = n.lastIndexOf(':');
              return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
            })
          : undefined,
      prefix: env.REDIS_PREFIX,
    },
    auth: {
      jwtSecret,
      jwtPublicKey: env.JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
      jwks: outsideIssuer(env),
      tokenTtlSeconds: env.JWT_TTL_SECONDS,
      serviceApiKeys,
      rateLimitPerMinute: env.AUTH_RATE_LIMIT,
    },
    chat: {
      maxRoomMembers: env.MAX_ROOM_MEMBERS,
      roomRateLimit: env.RATE_LIMIT_ROOMS,
      presenceMaxRoomSize: env.PRESENCE_MAX_ROOM_SIZE,
      rateLimitMessages: env.RATE_LIMIT_MESSAGES,
      rateLimitWindowMs: env.RATE_LIMIT_WINDOW_MS,
      writeQueue: env.CHAT_WRITE_QUEUE,
      writeBatch: env.CHAT_WRITE_BATCH,
      writeConcurrency: env.CHAT_WRITE_CONCURRENCY,
    },
    sse: { heartbeatMs: env.SSE_HEARTBEAT_MS },
    stocks: { feed: env.STOCK_FEED, symbols: env.STOCK_SYMBOLS, tickMs: env.STOCK_TICK_MS },
    reminders: {
      cron: env.WEIGHT_REMINDER_CRON,
      timeZone: env.WEIGHT_REMINDER_TZ,
      staleDays: env.WEIGHT_REMINDER_STALE_DAYS,
      reconcileMs: env.WEIGHT_REMINDER_RETRY_MS,
      chunkUsers: env.WEIGHT_REMINDER_CHUNK,
    },
    demoMode: env.DEMO_MODE,
    admin: { rateLimitPerMinute: env.RATE_LIMIT_ADMIN, port: env.ADMIN_PORT },
    placeholderSecrets: placeholderSecrets(env),
    retention: {
      messageDays: env.MESSAGE_RETENTION_DAYS,
      notificationDays: env.NOTIFICATION_RETENTION_DAYS,
      cron: env.RETENTION_CRON,
      chunk: env.RETENTION_CHUNK,
    },
    calls: {
      stunUrls: env.STUN_URLS,
      turnUrls: env.TURN_URLS,
      turnSecret: env.TURN_SECRET,
      turnTtlSeconds: env.TURN_TTL_SECONDS,
      ringTimeoutMs: env.CALL_RING_TIMEOUT_MS,
      signalsPerSecond: env.CALL_SIGNALS_PER_SECOND,
    },
    webhooks: webhooksConfig(env),
    push: pushConfig(env),
  };
}
