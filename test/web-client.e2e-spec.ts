import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot, signUp as signUpIn } from './helpers/browser';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { http } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { publish } from './helpers/publish';

/** The web client in a real browser (Debian's Chromium), two users on two instances. */
describe('web client in Chromium', () => {
  let db: TestDatabase;
  let app1: Instance;
  let app2: Instance;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('web');
    const prefix = uniquePrefix('web');
    const env = { STOCK_SYMBOLS: 'AAPL,MSFT', STOCK_TICK_MS: '250' };
    [app1, app2] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, id: 'web1', env }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, id: 'web2', env }),
    ]);
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await Promise.all([app1, app2].map((i) => i?.stop()));
    await db?.drop();
  });

  const signUp = (instance: Instance, username: string): Promise<Page> =>
    signUpIn(browser, contexts, instance.url, username);

  it('lets two users on two instances chat live, with typing, receipts and presence; text stays text', async () => {
    const alice = await signUp(app1, 'alice_web');
    const bob = await signUp(app2, 'bob_web');
    // Alice opens a direct room with Bob by username.
    await alice.fill('#direct-user', 'bob_web');
    await alice.click('#new-direct button');
    await alice.waitForSelector('#room-title:has-text("alice_web & bob_web")');
    // Bob's room list was loaded before the room existed: reload it.
    await bob.reload();
    await bob.waitForSelector('#rooms li:has-text("alice_web & bob_web")', { timeout: 5000 });
    await bob.click('#rooms li:has-text("alice_web & bob_web")');
    await bob.waitForSelector('#room-title:has-text("alice_web & bob_web")');
    // Presence across instances.
    await alice.waitForSelector('[data-testid=online]:has-text("bob_web")');

    // Typing indicator, then a message, across instances.
    await bob.type('#body', 'hi ali');
    await alice.waitForSelector('[data-testid=typing]:has-text("bob_web is typing")');
    await bob.fill('#body', 'hi alice');
    await bob.click('#send-btn');
    await alice.waitForSelector('#messages li:has-text("hi alice")');

    // An XSS payload is shown as text and never runs.
    const payload =
      '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold?</b>';
    await alice.fill('#body', payload);
    await alice.click('#send-btn');
    const shown = bob.locator('#messages li .text', { hasText: '<img src=x' });
    await shown.waitFor();
    expect(await shown.textContent()).toBe(payload);
    expect(await bob.locator('#messages img, #messages script, #messages b').count()).toBe(0);
    expect(
      await bob.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
    ).toBeUndefined();

    // Read receipts: Bob has seen Alice's message.
    await alice.waitForSelector('[data-testid=receipts]:has-text("bob_web read up to #2")');
    await screenshot(alice, 'chat-alice');
    await screenshot(bob, 'chat-bob');
  });

  it.each(['poll', 'longpoll', 'sse', 'ndjson', 'socket'])(
    'shows a notification published through the API over %s',
    async (transport) => {
      const page = await signUp(app1, `n_${transport}`);
      await page.selectOption('#transport', transport);
      const me = await page.evaluate(
        async () => ((await (await fetch('/api/me')).json()) as { id: string }).id,
      );
      // Publish once the transport is running: its first request has gone out (or the socket is up).
      if (transport !== 'socket')
        await page.waitForFunction(
          () => Number(document.querySelector('[data-testid=stat-requests]')?.textContent) >= 1,
        );
      await publish(app2.url, {
        userIds: [me],
        title: `hello over ${transport}`,
        body: '<i>not html</i>',
      });
      const item = page.locator('#notifications li', { hasText: `hello over ${transport}` });
      await item.waitFor({ timeout: 10_000 });
      expect(await item.locator('i').count()).toBe(0);
      expect(await item.textContent()).toContain('<i>not html</i>');
      expect(await page.textContent('[data-testid=stat-delay]')).toMatch(/^\d+ ms$/);
      expect(Number(await page.textContent('[data-testid=stat-bytes]'))).toBeGreaterThan(0);
      await screenshot(page, `notifications-${transport}`);
    },
  );

  it('guides a first run: empty rooms, chat and weights say what to do', async () => {
    const page = await signUp(app1, 'first_run');
    await page.waitForSelector('[data-testid=rooms-empty]:has-text("No rooms yet")');
    expect(await page.isVisible('[data-testid=chat-empty]')).toBe(true);
    await page.waitForSelector('[data-testid=weights-empty]:has-text("Set a goal")');
    await page.fill('#room-name', 'my first room');
    await page.click('#new-room button');
    await page.waitForSelector('#rooms li:has-text("my first room")');
    expect(await page.isHidden('[data-testid=rooms-empty]')).toBe(true);
  });

  it('registers its service worker for Web Push and saves which kinds to push', async () => {
    const page = await signUp(app2, 'push_prefs');
    await page.waitForSelector('#push-prefs input#pref-system');
    const worker = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      return (registration.active ?? registration.installing ?? registration.waiting)?.scriptURL;
    });
    expect(worker).toBe(`${app2.url}/sw.js`);
    expect(await page.isChecked('#pref-system')).toBe(true);
    await page.uncheck('#pref-system');
    await page.waitForSelector('[data-testid=push-status]:has-text("preferences saved")');
    const prefs = await page.evaluate(
      async () => (await (await fetch('/api/me/notification-preferences')).json()) as unknown,
    );
    expect(prefs).toMatchObject({ push: { system: false, price_alert: true } });
    await page.reload();
    await page.waitForSelector('#pref-system');
    expect(await page.isChecked('#pref-system')).toBe(false);
  });

  it('updates the stock ticker live and takes a price alert', async () => {
    const page = await signUp(app2, 'stock_web');
    const price = page.locator('#ticker tr[data-symbol="AAPL"] td:nth-child(2)');
    await price.waitFor();
    const time = page.locator('#ticker tr[data-symbol="AAPL"] td:nth-child(4)');
    const first = await time.textContent();
    await page.waitForFunction(
      (before) =>
        document.querySelector('#ticker tr[data-symbol="AAPL"] td:nth-child(4)')?.textContent !==
        before,
      first,
      { timeout: 10_000 },
    );
    await page.fill('#alert-symbol', 'MSFT');
    await page.fill('#alert-price', '100000');
    await page.click('#alert-form button');
    await page.waitForSelector('#alerts li:has-text("MSFT above 100000 (active)")');
    await screenshot(page, 'stocks');
    // The same data over REST, for the record.
    const alerts = await http<{ items: unknown[] }>(app2.url, '/api/stocks/MSFT', {
      apiKey: TEST_API_KEY,
    });
    expect(alerts.status).toBe(200);
  });
});
