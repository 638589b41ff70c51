/**
 * Debian's Chromium driven by playwright-core for the dashboard tests:
 * headless, a fresh user-data directory per launch, no network services of
 * its own, and helpers to wait on page state and save screenshots under
 * test/artifacts/.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ROOT } from '../helpers/daemon.js';

/** Where screenshots go (gitignored; CI keeps them as artifacts). */
export const ARTIFACTS = join(ROOT, 'test', 'artifacts');

/** A browser with one page; close() also removes its profile. */
export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far. */
  errors: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Launches /usr/bin/chromium (or CHROMIUM_PATH) headless with a fresh profile. */
export async function launchChromium(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'larder-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await mkdir(ARTIFACTS, { recursive: true });
  return {
    context,
    page,
    errors,
    async screenshot(name) {
      const file = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Polls `read` until `ok(value)`; returns the value or throws with the last one seen. */
export async function waitUntil<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {
      // element not there yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

/** Text of a locator, trimmed (short timeout so waitUntil keeps polling). */
export function text(l: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: the text a user sees, as rendered (hidden parts left out)
  return l.innerText({ timeout: 1000 }).then((t) => t.trim());
}

/** Parses "12,345" → 12345. */
export function count(s: string): number {
  return Number(s.replace(/[^0-9.]/g, ''));
}
