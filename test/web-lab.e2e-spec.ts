import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot, signUp } from './helpers/browser';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { http } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';

const LANES = ['poll', 'longpoll', 'sse', 'ndjson', 'ws', 'sio-polling'];

interface AxeResult {
  violations: Array<{ id: string; impact: string | null; help: string; nodes: unknown[] }>;
}

/** The transports lab in Chromium: every technique's lane at once, against a real instance. */
describe('web client: the transports lab', () => {
  let db: TestDatabase;
  let app: Instance;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('lab');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('lab'),
      env: { DEMO_MODE: 'true' },
    });
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await app?.stop();
    await db?.drop();
  });

  const received = (page: Page, lane: string): Promise<number> =>
    page.$eval(`[data-lane="${lane}"]`, (e) => Number((e as HTMLElement).dataset.received ?? 0));

  /** Every lane has received `n` notifications, in seq order. */
  const allHave = (page: Page, n: number): Promise<unknown> =>
    waitAll(page, n).catch(async (err: unknown) => {
      const seen = await page.$$eval('[data-lane]', (els) =>
        els.map((e) => {
          const d = (e as HTMLElement).dataset;
          const status = e.querySelector('.lane-status')?.textContent ?? '';
          return `${d.lane}: ${d.received ?? 0} in order ${d.inOrder} last ${d.lastSeq} (${status})`;
        }),
      );
      throw new Error(`not every lane has ${n}: ${seen.join('; ')}; ${String(err)}`);
    });
  const waitAll = (page: Page, n: number): Promise<unknown> =>
    page.waitForFunction(
      ({ lanes, n }) =>
        lanes.every((lane) => {
          const e = document.querySelector<HTMLElement>(`[data-lane="${lane}"]`);
          return Number(e?.dataset.received ?? 0) >= n && e?.dataset.inOrder === 'true';
        }),
      { lanes: LANES, n },
      { timeout: 20_000 },
    );

  it('opens every lane, delivers a burst once in order to each, and resumes a cut lane without loss', async () => {
    const page = await signUp(browser, contexts, app.url, 'lab_user');
    // First run with DEMO_MODE: the demo room is there to chat in at once.
    await page.waitForSelector('#rooms li:has-text("Demo room")');
    expect(await page.isHidden('#rooms-empty')).toBe(true);
    await page.click('a[href="/lab"]');
    await page.waitForSelector('[data-lane="sio-polling"]');
    // Every lane is listening before anything is published.
    for (const lane of LANES)
      await page.waitForSelector(`[data-lane="${lane}"] .lane-status:has-text("live")`, {
        timeout: 15_000,
      });
    await page.click('#lab-burst');
    await allHave(page, 20);
    for (const lane of LANES) {
      expect(await received(page, lane)).toBe(20);
      const seqs = await page.$eval(
        `[data-lane="${lane}"]`,
        (e) => (e as HTMLElement).dataset.lastSeq,
      );
      expect(seqs).toBe('20');
    }

    // Cut the stream lanes and a socket lane; publish while they are down; nothing is lost.
    for (const lane of ['sse', 'ndjson', 'ws'])
      await page.click(`[data-lane="${lane}"] [data-action=cut]`);
    await page.click('#lab-publish');
    await page.click('#lab-publish');
    await allHave(page, 22);
    for (const lane of LANES) expect(await received(page, lane)).toBe(22);
    await page.waitForSelector('[data-lane="sse"] .lane-status:has-text("resumed after #20")');

    // Every lane's chart has points, and the totals table has a row per lane.
    for (const lane of LANES) {
      const points = await page.$eval(`[data-lane="${lane}"]`, (e) =>
        Number((e as HTMLElement).dataset.points),
      );
      expect(points).toBeGreaterThan(0);
      const polyline = await page.$eval(
        `[data-lane="${lane}"] polyline`,
        (e) => e.getAttribute('points') ?? '',
      );
      expect(polyline.split(' ').length).toBeGreaterThan(1);
    }
    expect(await page.$$eval('#totals tbody tr', (rows) => rows.length)).toBe(LANES.length);

    await page.setViewportSize({ width: 1280, height: 900 });
    await screenshot(page, 'lab-desktop');
    await page.setViewportSize({ width: 375, height: 800 });
    // Nothing wider than a phone: no horizontal scroll on the page itself.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      375,
    );
    await screenshot(page, 'lab-phone');
  });

  it('has no serious accessibility violations (axe-core)', async () => {
    // axe is injected as a script, which the page's own CSP rightly forbids: bypass it here only.
    const context = await browser.newContext({ bypassCSP: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(app.url);
    await page.fill('#username', 'lab_axe');
    await page.fill('#password', 'correct horse battery');
    await page.click('#register');
    await page.waitForSelector('[data-testid=conn].online');
    await page.goto(`${app.url}/lab`);
    await page.waitForSelector('[data-lane="sse"] .lane-status:has-text("live")', {
      timeout: 15_000,
    });
    await page.addScriptTag({
      content: readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'),
    });
    const result = await page.evaluate(() =>
      (window as unknown as { axe: { run(): Promise<AxeResult> } }).axe.run(),
    );
    const serious = result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.length})`);
    expect(serious).toEqual([]);
  });

  it('says what to do when DEMO_MODE is off, and the demo endpoints are 404 then', async () => {
    const off = await startInstance({ databaseUrl: db.url, redisPrefix: uniquePrefix('lab-off') });
    try {
      const page = await signUp(browser, contexts, off.url, 'lab_off');
      await page.goto(`${off.url}/lab`);
      await page.waitForSelector('#lab-demo-off:not([hidden])');
      expect(await page.isDisabled('#lab-publish')).toBe(true);
      const status = await http<{ enabled: boolean }>(off.url, '/api/demo');
      expect(status.body).toEqual({ enabled: false });
    } finally {
      await off.stop();
    }
  });
});
