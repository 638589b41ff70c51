/**
 * The committed icons: every tray state has @1x/@2x template PNGs (black +
 * alpha, for macOS) and coloured ones, all made from an SVG source in the
 * repo, and the state set matches what the tray model produces.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TRAY_STATES } from '../../electron/packaging/build-icons.js';
import { decodePngRgba, pngSize } from '../../electron/packaging/icon-containers.js';
import { trayState, type TrayState } from '../../electron/main/tray-model.js';
import { ROOT } from '../helpers/daemon.js';
import { makePin, makeStats } from './fixtures.js';

const TRAY = join(ROOT, 'resources', 'tray');
const STATES = Object.keys(TRAY_STATES) as TrayState[];

function hex(rgb: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(rgb.slice(i, i + 2), 16)) as [number, number, number];
}

describe('tray and app icons', () => {
  it('covers exactly the states the tray model produces', () => {
    const produced = new Set<TrayState>([
      trayState({ daemon: 'up', stats: makeStats(), pins: [], lagThresholdSeconds: 60 }),
      trayState({ daemon: 'up', stats: makeStats({ offline: true }), pins: [], lagThresholdSeconds: 60 }),
      trayState({ daemon: 'up', stats: makeStats(), pins: [makePin('a', { lagSeconds: 120 })], lagThresholdSeconds: 60 }),
      trayState({ daemon: 'down', pins: [], lagThresholdSeconds: 60 }),
    ]);
    assert.deepEqual([...produced].sort(), [...STATES].sort());
  });

  it('has an SVG source and @1x/@2x template and coloured PNGs for each state', async () => {
    const files = new Set(await readdir(TRAY));
    for (const s of STATES) {
      assert.ok(files.has(`${s}.svg`), `${s}.svg`);
      for (const [name, px] of [
        [`${s}Template.png`, 16],
        [`${s}Template@2x.png`, 32],
        [`${s}.png`, 16],
        [`${s}@2x.png`, 32],
      ] as const) {
        assert.ok(files.has(name), name);
        assert.deepEqual(pngSize(await readFile(join(TRAY, name))), { width: px, height: px }, name);
      }
    }
  });

  it('template images are pure black with alpha; coloured ones carry the state colour', async () => {
    for (const s of STATES) {
      const t = decodePngRgba(await readFile(join(TRAY, `${s}Template@2x.png`)));
      let opaque = 0;
      for (let i = 0; i < t.pixels.length; i += 4) {
        if (t.pixels[i + 3] === 0) continue;
        opaque++;
        assert.deepEqual([t.pixels[i], t.pixels[i + 1], t.pixels[i + 2]], [0, 0, 0], `${s} template pixel ${i / 4}`);
      }
      assert.ok(opaque > 150 && opaque < 32 * 32 - 100, `${s} template has a shape (${opaque} px)`);
      if (s === 'healthy') continue;
      const c = decodePngRgba(await readFile(join(TRAY, `${s}@2x.png`)));
      const [r, g, b] = hex(TRAY_STATES[s]);
      let badge = 0;
      for (let i = 0; i < c.pixels.length; i += 4) {
        if (
          c.pixels[i + 3] === 255 &&
          Math.abs(c.pixels[i]! - r) < 8 &&
          Math.abs(c.pixels[i + 1]! - g) < 8 &&
          Math.abs(c.pixels[i + 2]! - b) < 8
        )
          badge++;
      }
      assert.ok(badge >= 10, `${s} badge drawn in ${TRAY_STATES[s]} (${badge} px)`);
    }
  });

  it('has the app icon source and a 1024 px PNG', async () => {
    await readFile(join(ROOT, 'resources', 'icons', 'larder.svg'));
    assert.deepEqual(pngSize(await readFile(join(ROOT, 'resources', 'icons', 'larder.png'))), { width: 1024, height: 1024 });
  });
});
