import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ARTIFACTS = resolve(__dirname, '../../test-artifacts');

/** Debian's Chromium, headless, with no network of its own beyond our loopback pages. */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * A new browser context (its own cookies) that registers `username` on the web client at
 * `baseUrl` and waits until the app is up and its socket connected. Errors on the page fail the
 * test. The context goes into `contexts`, for the suite to close.
 */
export async function signUp(
  browser: Browser,
  contexts: BrowserContext[],
  baseUrl: string,
  username: string,
  permissions: string[] = [],
): Promise<Page> {
  const context = await browser.newContext({ permissions });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(baseUrl);
  await page.fill('#username', username);
  await page.fill('#password', 'correct horse battery');
  await page.click('#register');
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForSelector('[data-testid=conn].online');
  return page;
}
