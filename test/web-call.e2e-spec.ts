import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot, signUp as signUpIn } from './helpers/browser';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';

/**
 * A real call in real browsers: two Chromium pages with fake camera and microphone, on two
 * instances, signalling through the service, media over loopback between the browsers.
 */
describe('web client: a call between two browsers', () => {
  let db: TestDatabase;
  let app1: Instance;
  let app2: Instance;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('webcall');
    const prefix = uniquePrefix('webcall');
    [app1, app2] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, id: 'call1' }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, id: 'call2' }),
    ]);
    browser = await launchBrowser([
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await Promise.all([app1, app2].map((i) => i?.stop()));
    await db?.drop();
  });

  const signUp = (instance: Instance, username: string): Promise<Page> =>
    signUpIn(browser, contexts, instance.url, username, ['camera', 'microphone']);

  /** Frames of the remote video this page has decoded and shown. */
  const remoteFrames = (page: Page): Promise<number> =>
    page.evaluate(() => {
      const video = document.querySelector<HTMLVideoElement>('#call-remotes video');
      return video === null ? 0 : video.getVideoPlaybackQuality().totalVideoFrames;
    });

  it('rings, connects audio and video peer to peer, and hangs up on both sides', async () => {
    const alice = await signUp(app1, 'alice_call');
    const bob = await signUp(app2, 'bob_call');
    await alice.fill('#direct-user', 'bob_call');
    await alice.click('#new-direct button');
    await alice.waitForSelector('#room-title:has-text("alice_call & bob_call")');
    await bob.reload();
    await bob.click('#rooms li:has-text("alice_call & bob_call")');
    await bob.waitForSelector('#room-title:has-text("alice_call & bob_call")');

    await alice.click('#call-start');
    await alice.waitForSelector('#call:not([hidden])');
    // Bob's other instance rings; he accepts.
    await bob.waitForSelector('#call-ring:not([hidden]) >> text=alice_call is calling');
    await bob.click('#call-accept');

    try {
      for (const page of [alice, bob]) {
        await page.waitForSelector('#call-remotes [data-peer][data-state=connected]', {
          timeout: 20_000,
        });
        // The other side's fake camera: frames arrive, decoded.
        await page.waitForFunction(
          () =>
            (document
              .querySelector<HTMLVideoElement>('#call-remotes video')
              ?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > 0,
          undefined,
          { timeout: 20_000 },
        );
        expect(await remoteFrames(page)).toBeGreaterThan(0);
        // And an audio track came with it.
        expect(
          await page.evaluate(() => {
            const video = document.querySelector<HTMLVideoElement>('#call-remotes video');
            const stream = video?.srcObject as MediaStream | null | undefined;
            return stream?.getAudioTracks().length ?? 0;
          }),
        ).toBe(1);
      }
      await screenshot(alice, 'web-call-alice');
    } catch (err) {
      await screenshot(alice, 'web-call-alice-failed');
      await screenshot(bob, 'web-call-bob-failed');
      throw err;
    }

    await alice.click('#call-hangup');
    for (const page of [alice, bob]) await page.waitForSelector('#call', { state: 'hidden' });
    await bob.waitForSelector('[data-testid=call-status]:has-text("call ended")');
    expect(await alice.locator('#call-start').isEnabled()).toBe(true);
  });
});
