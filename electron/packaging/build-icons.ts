/**
 * Regenerates the committed icon PNGs in resources/ from the SVG sources there,
 * rendering them with headless Chromium (playwright-core; Debian's
 * /usr/bin/chromium unless CHROMIUM_PATH is set):
 *   tray/<state>.svg → tray/<state>Template.png, @2x (macOS template: black + alpha)
 *                      tray/<state>.png, @2x (coloured, Windows and Linux)
 *   icons/larder.svg → icons/larder.png (1024), icons/larder.icns, icons/larder.ico
 * Run: `npm run build:icons`, then commit the PNGs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { encodeIcns, encodeIco } from './icon-containers.js';

const DIR = fileURLToPath(new URL('../../resources/', import.meta.url));

/** The tray states, each with the badge colour of its coloured variant. */
export const TRAY_STATES = { healthy: '#16a34a', stale: '#ea580c', lagging: '#ca8a04', error: '#dc2626' } as const;
/** Jar colour of the coloured variants: readable on light and dark panels. */
const JAR = '#8a94a3';

async function render(page: Page, svg: string, px: number, color: string, badge: string): Promise<Buffer> {
  const sized = svg.replace(/width="\d+" height="\d+"/, `width="${px}" height="${px}"`);
  await page.setContent(
    `<!doctype html><html><body style="margin:0;background:transparent"><div id="i" style="width:${px}px;height:${px}px;color:${color};--badge:${badge};line-height:0">${sized}</div></body></html>`,
  );
  return page.locator('#i').screenshot({ omitBackground: true, type: 'png' });
}

/** Renders every icon; returns the files written. */
export async function buildIcons(): Promise<string[]> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const written: string[] = [];
  const put = async (rel: string, data: Buffer): Promise<void> => {
    await writeFile(join(DIR, rel), data);
    written.push(rel);
  };
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    for (const [state, badge] of Object.entries(TRAY_STATES)) {
      const svg = await readFile(join(DIR, 'tray', `${state}.svg`), 'utf8');
      await put(`tray/${state}Template.png`, await render(page, svg, 16, '#000', '#000'));
      await put(`tray/${state}Template@2x.png`, await render(page, svg, 32, '#000', '#000'));
      await put(`tray/${state}.png`, await render(page, svg, 16, JAR, badge));
      await put(`tray/${state}@2x.png`, await render(page, svg, 32, JAR, badge));
    }
    const app = await readFile(join(DIR, 'icons', 'larder.svg'), 'utf8');
    const sizes = [16, 32, 48, 64, 128, 256, 512, 1024];
    const png = new Map<number, Buffer>();
    for (const s of sizes) png.set(s, await render(page, app, s, '#000', '#000'));
    await put('icons/larder.png', png.get(1024)!);
    await put('icons/larder-512.png', png.get(512)!);
    await put('icons/larder.icns', encodeIcns([16, 32, 64, 128, 256, 512, 1024].map((s) => png.get(s)!)));
    await put('icons/larder.ico', encodeIco([16, 32, 48, 64, 128, 256].map((s) => png.get(s)!)));
  } finally {
    await browser.close();
  }
  return written;
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  buildIcons().then(
    (files) => console.log(`wrote ${files.length} files:\n  ${files.join('\n  ')}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
