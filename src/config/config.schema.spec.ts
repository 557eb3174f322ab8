import { ConfigError, parseConfig } from './config.schema';

describe('parseConfig', () => {
  it('gives every documented default in embedded mode', () => {
    const c = parseConfig({});
    expect(c.port).toBe(3000);
    expect(c.database.url).toBeUndefined();
    expect(c.redis.url).toBeUndefined();
    expect(c.stocks).toEqual({
      feed: 'simulated',
      symbols: expect.arrayContaining(['AAPL', 'MSFT']),
      tickMs: 1000,
    });
    expect(c.reminders).toEqual({
      cron: '0 9 * * 1',
      timeZone: 'UTC',
      staleDays: 7,
      reconcileMs: 15000,
      chunkUsers: 50000,
    });
    expect(c.sse.heartbeatMs).toBe(15000);
    expect(c.chat).toEqual({
      maxRoomMembers: 1000,
      roomRateLimit: 30,
      presenceMaxRoomSize: 200,
      rateLimitMessages: 20,
      rateLimitWindowMs: 10000,
      writeQueue: 5000,
      writeBatch: 500,
      writeConcurrency: 2,
    });
    expect(c.auth.rateLimitPerMinute).toBe(30);
    expect(c.auth.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(c.corsOrigins).toEqual([]);
  });

  it('parses lists and numbers', () => {
    const c = parseConfig({
      STOCK_SYMBOLS: ' aapl, brk.b ,',
      CORS_ORIGINS: 'https://a.example.com, http://localhost:5173',
      STOCK_TICK_MS: '10',
      WEIGHT_REMINDER_CRON: '*/2 * * * * *',
      WEIGHT_REMINDER_TZ: 'Europe/Berlin',
    });
    expect(c.stocks.symbols).toEqual(['AAPL', 'BRK.B']);
    expect(c.corsOrigins).toEqual(['https://a.example.com', 'http://localhost:5173']);
    expect(c.stocks.tickMs).toBe(10);
    expect(c.reminders.cron).toBe('*/2 * * * * *');
  });

  it.each([
    ['PORT', '-1'],
    ['STOCK_TICK_MS', '60001'],
    ['RATE_LIMIT_MESSAGES', '1000001'],
    ['AUTH_RATE_LIMIT', '-3'],
    ['STOCK_SYMBOLS', 'TOO_LONG_SYMBOL'],
    ['CORS_ORIGINS', 'not a url'],
    ['REDIS_URL', 'http://localhost'],
    ['INSTANCE_ID', 'has space'],
    ['SSE_HEARTBEAT_MS', '1.5'],
  ])('names %s when it is %j', (name, value) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(
      new RegExp(`^Invalid configuration: ${name} `),
    );
  });

  it.each([
    ['61 * * * *', /out of range/],
    ['0 9 * * 8', /out of range/],
    ['*/0 * * * *', /step of zero/],
    ['* * * * * * *', /Too many fields/],
    ['every monday', /must be a cron expression/],
    ['', /must be a cron expression/],
    ['0 0 31 2 *', /must be a cron expression that fires/],
  ])('refuses WEIGHT_REMINDER_CRON=%j with the cron library', (value, reason) => {
    const parse = () => parseConfig({ WEIGHT_REMINDER_CRON: value });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/^Invalid configuration: WEIGHT_REMINDER_CRON must be a cron expression/);
    expect(parse).toThrow(reason);
  });

  it.each(['0 9 * * 1', '0 9 * * MON', '30 8 * * 1-5', '*/2 * * * * *', '@weekly'])(
    'accepts WEIGHT_REMINDER_CRON=%j',
    (value) => {
      expect(parseConfig({ WEIGHT_REMINDER_CRON: value }).reminders.cron).toBe(value);
    },
  );

  it('requires shared secrets once Postgres or Redis is configured', () => {
    expect(() => parseConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(
      /JWT_SECRET is required/,
    );
    expect(() => parseConfig({ REDIS_URL: 'redis://x', JWT_SECRET: 'x'.repeat(16) })).toThrow(
      /SERVICE_API_KEY is required/,
    );
    const c = parseConfig({
      REDIS_URL: 'redis://x',
      JWT_SECRET: 's'.repeat(16),
      SERVICE_API_KEY: 'k'.repeat(16),
    });
    expect(c.auth.jwtSecret).toBe('s'.repeat(16));
  });

  it('takes several comma-separated service API keys, each of 16 characters or more', () => {
    const base = { REDIS_URL: 'redis://x', JWT_SECRET: 's'.repeat(16) };
    const c = parseConfig({ ...base, SERVICE_API_KEY: `${'a'.repeat(16)}, ${'b'.repeat(20)}` });
    expect(c.auth.serviceApiKeys).toEqual(['a'.repeat(16), 'b'.repeat(20)]);
    expect(parseConfig({}).auth.serviceApiKeys).toEqual(['dev-service-key']);
    for (const bad of [`${'a'.repeat(16)},short`, ',,,,,,,,,,,,,,,,,,'])
      expect(() => parseConfig({ ...base, SERVICE_API_KEY: bad })).toThrow(
        /^Invalid configuration: SERVICE_API_KEY must be one or more comma-separated keys of at least 16 characters each$/,
      );
  });

  it('needs JWT_ISSUER and JWT_AUDIENCE with JWT_JWKS_URL, and the URL to be http(s)', () => {
    const jwks = {
      JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      JWT_ISSUER: 'https://idp.example.com/',
      JWT_AUDIENCE: 'realtime',
    };
    expect(parseConfig(jwks).auth.jwks).toEqual({
      url: jwks.JWT_JWKS_URL,
      issuer: jwks.JWT_ISSUER,
      audience: 'realtime',
    });
    expect(parseConfig({}).auth.jwks).toBeUndefined();
    expect(() => parseConfig({ ...jwks, JWT_AUDIENCE: '' })).toThrow(
      /^Invalid configuration: JWT_JWKS_URL needs JWT_ISSUER and JWT_AUDIENCE/,
    );
    expect(() => parseConfig({ ...jwks, JWT_ISSUER: undefined })).toThrow(
      /JWT_JWKS_URL needs JWT_ISSUER and JWT_AUDIENCE/,
    );
    expect(() => parseConfig({ ...jwks, JWT_JWKS_URL: 'ftp://idp.example.com/jwks' })).toThrow(
      /^Invalid configuration: JWT_JWKS_URL must be a URL with scheme http: or https:/,
    );
    expect(() => parseConfig({ JWT_ISSUER: 'https://idp.example.com/' })).toThrow(
      /JWT_ISSUER and JWT_AUDIENCE are used only with JWT_JWKS_URL/,
    );
  });
});

describe('deployment settings', () => {
  const base = { DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://h:6379' };

  it('names every secret still set to a documented placeholder, and nothing else', () => {
    const real = { JWT_SECRET: 'a'.repeat(32), SERVICE_API_KEY: 'b'.repeat(32) };
    expect(parseConfig({ ...base, ...real }).placeholderSecrets).toEqual([]);
    // .env.example's and docker-compose.yml's values: accepted (compose works out of the box), named.
    expect(
      parseConfig({
        ...base,
        JWT_SECRET: 'change-me-to-a-long-random-string',
        SERVICE_API_KEY: `${'b'.repeat(32)},compose-dev-service-key-change-me`,
      }).placeholderSecrets,
    ).toEqual(['JWT_SECRET', 'SERVICE_API_KEY']);
  });

  it('takes ADMIN_PORT as an optional second port that differs from PORT', () => {
    const secrets = { JWT_SECRET: 'a'.repeat(32), SERVICE_API_KEY: 'b'.repeat(32) };
    expect(parseConfig({ ...base, ...secrets }).admin.port).toBeUndefined();
    expect(parseConfig({ ...base, ...secrets, ADMIN_PORT: '' }).admin.port).toBeUndefined();
    expect(parseConfig({ ...base, ...secrets, ADMIN_PORT: '9090' }).admin.port).toBe(9090);
    expect(() => parseConfig({ ...base, ...secrets, PORT: '9090', ADMIN_PORT: '9090' })).toThrow(
      'ADMIN_PORT must differ from PORT',
    );
    expect(() => parseConfig({ ...base, ...secrets, ADMIN_PORT: 'x' })).toThrow(/ADMIN_PORT/);
  });
});
