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
