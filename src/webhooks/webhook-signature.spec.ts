import { createHmac } from 'node:crypto';
import { parseConfig } from '../config/config.schema';
import { WEBHOOK_EVENT_TYPES } from '../contracts';
import { signWebhook, webhookHeaders } from './webhook-signature';

/** The secret as the Standard Webhooks reference libraries' tests give it (24 bytes decoded). */
const SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const keyOf = (secret: string): Buffer => {
  const hooks = parseConfig({
    WEBHOOK_URL: 'https://hooks.example.com/in',
    WEBHOOK_SECRET: secret,
  }).webhooks;
  if (hooks === null) throw new Error('webhooks not configured');
  return hooks.secret;
};

describe('webhook signing (Standard Webhooks, symmetric v1)', () => {
  it('matches the spec libraries’ known vector', () => {
    // standard-webhooks libraries/javascript/src/webhook.test.ts, "sign function works".
    expect(
      signWebhook(
        keyOf(SPEC_SECRET),
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('keys a secret without whsec_ with its own bytes', () => {
    const raw = 'a-raw-secret-of-24-bytes!';
    const expected = createHmac('sha256', Buffer.from(raw, 'utf8'))
      .update('evt.1700000000.{}')
      .digest('base64');
    expect(signWebhook(keyOf(raw), 'evt', 1700000000, '{}')).toBe(`v1,${expected}`);
  });

  it('sends the id, the attempt time in seconds and the signature of exactly the body', () => {
    const key = keyOf(SPEC_SECRET);
    const body = '{"id":"e1","type":"message.created"}';
    expect(webhookHeaders(key, 'e1', 1700000001, body)).toEqual({
      'content-type': 'application/json',
      'webhook-id': 'e1',
      'webhook-timestamp': '1700000001',
      'webhook-signature': signWebhook(key, 'e1', 1700000001, body),
    });
    expect(signWebhook(key, 'e1', 1700000001, `${body} `)).not.toBe(
      signWebhook(key, 'e1', 1700000001, body),
    );
  });
});

describe('webhook configuration', () => {
  const base = { WEBHOOK_URL: 'https://hooks.example.com/in', WEBHOOK_SECRET: SPEC_SECRET };

  it('is off without WEBHOOK_URL, and takes every event by default', () => {
    expect(parseConfig({}).webhooks).toBeNull();
    expect(parseConfig({ WEBHOOK_SECRET: SPEC_SECRET }).webhooks).toBeNull();
    const hooks = parseConfig(base).webhooks;
    expect(hooks).toMatchObject({ timeoutMs: 10000, concurrency: 8, retryWindowMs: 86400000 });
    expect([...(hooks?.events ?? [])]).toEqual([...WEBHOOK_EVENT_TYPES]);
    expect(WEBHOOK_EVENT_TYPES).toHaveLength(6);
  });

  it('filters events and refuses unknown names', () => {
    const hooks = parseConfig({
      ...base,
      WEBHOOK_EVENTS: 'call.started, message.created',
    }).webhooks;
    expect([...(hooks?.events ?? [])]).toEqual(['call.started', 'message.created']);
    expect(() =>
      parseConfig({ ...base, WEBHOOK_EVENTS: 'message.created,message.deleted' }),
    ).toThrow(/WEBHOOK_EVENTS must be a comma-separated list of/);
  });

  it('refuses a URL that is not http(s), a missing secret and a short one', () => {
    expect(() => parseConfig({ ...base, WEBHOOK_URL: 'file:///etc/passwd' })).toThrow(
      /WEBHOOK_URL must be a URL with scheme http: or https:/,
    );
    expect(() => parseConfig({ ...base, WEBHOOK_URL: 'gopher://x' })).toThrow(/WEBHOOK_URL/);
    expect(() => parseConfig({ WEBHOOK_URL: base.WEBHOOK_URL })).toThrow(
      /WEBHOOK_URL needs WEBHOOK_SECRET/,
    );
    // 23 bytes raw; 18 bytes after decoding (24 base64 characters): both short.
    expect(() => parseConfig({ ...base, WEBHOOK_SECRET: 'x'.repeat(23) })).toThrow(
      /WEBHOOK_SECRET must be at least 24 bytes/,
    );
    expect(() =>
      parseConfig({ ...base, WEBHOOK_SECRET: `whsec_${Buffer.alloc(18, 7).toString('base64')}` }),
    ).toThrow(/WEBHOOK_SECRET must be at least 24 bytes/);
  });
});
