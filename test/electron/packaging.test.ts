/**
 * Packaging without an Electron binary: electron-builder.yml passes
 * electron-builder's own schema validation and names every target (AppImage,
 * deb, dmg, nsis) with existing icons; forge.config.ts type-checks (tsc) and
 * ships the shared fuses; the Electron bundles build and the preload needs
 * nothing but electron; the afterPack hook, loaded the way electron-builder
 * loads it, flips the fuses of a (fake) Electron binary.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Configuration } from 'app-builder-lib';
import { FuseV1Options } from '@electron/fuses';
import { parse } from 'yaml';
import forge, { ignored } from '../../forge.config.js';
import { buildElectron, ELECTRON_DIST_DIR } from '../../electron/build.js';
import { appPaths } from '../../electron/main/config.js';
import { packedElectronPath } from '../../electron/packaging/after-pack.js';
import { FUSES } from '../../electron/packaging/fuses.js';
import { decodeIcns, decodeIco, pngSize } from '../../electron/packaging/icon-containers.js';
import { ROOT } from '../helpers/daemon.js';

const require = createRequire(import.meta.url);
type Validate = (c: Configuration, logger: unknown) => Promise<void>;
const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as { validateConfiguration: Validate };
const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
const { resolveFunction } = require('app-builder-lib/out/util/resolve.js') as {
  resolveFunction: (type: string, p: string, name: string) => Promise<unknown>;
};
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

async function builderConfig(): Promise<Configuration> {
  return parse(await readFile(join(ROOT, 'electron-builder.yml'), 'utf8')) as Configuration;
}

function targets(t: unknown): string[] {
  return (Array.isArray(t) ? t : [t]).map((x) => (typeof x === 'string' ? x : (x as { target: string }).target));
}

describe('electron-builder configuration', () => {
  it("passes electron-builder's schema validation (and the validation is live)", async () => {
    const cfg = await builderConfig();
    await validateConfiguration(cfg, new DebugLogger(false));
    await assert.rejects(
      validateConfiguration({ ...cfg, notAnOption: true } as Configuration, new DebugLogger(false)),
      /unknown property 'notAnOption'/,
    );
  });

  it('builds AppImage and deb, dmg, and nsis, with icons in the right formats', async () => {
    const cfg = await builderConfig();
    assert.deepEqual(targets(cfg.linux?.target), ['AppImage', 'deb']);
    assert.deepEqual(targets(cfg.mac?.target), ['dmg']);
    assert.deepEqual(targets(cfg.win?.target), ['nsis']);
    assert.equal(cfg.appId, 'dev.larder.app');
    const png = pngSize(await readFile(join(ROOT, cfg.linux!.icon!)));
    assert.ok(png.width >= 512 && png.width === png.height, `linux icon ${png.width}px`);
    const icns = decodeIcns(await readFile(join(ROOT, cfg.mac!.icon!)));
    assert.ok(
      icns.some((e) => e.type === 'ic10' && pngSize(e.data).width === 1024),
      'icns has a 1024 px image',
    );
    const ico = decodeIco(await readFile(join(ROOT, cfg.win!.icon!)));
    assert.deepEqual(
      ico.map((e) => e.width),
      [16, 32, 48, 64, 128, 256],
    );
    for (const e of ico) assert.equal(pngSize(e.png).width, e.width);
    const ent = await readFile(join(ROOT, cfg.mac!.entitlements!), 'utf8');
    assert.match(ent, /com\.apple\.security\.cs\.allow-jit/);
  });

  it('ships the entry points the app loads, the tray icons, and the afterPack hook electron/build.ts emits', async () => {
    const cfg = await builderConfig();
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { main: string };
    const files = (cfg.files as string[]).filter((f) => !f.startsWith('!'));
    const covered = (p: string): boolean => files.some((f) => f === p || (f.endsWith('/**/*') && p.startsWith(f.slice(0, -4))));
    const paths = appPaths(join(ROOT, 'dist/electron/main'), '/res', true);
    for (const p of [pkg.main, paths.preload, paths.daemonHost, paths.daemonCli, join(ROOT, 'dist/renderer/index.html')]) {
      const rel = relative(ROOT, join(ROOT, relative(ROOT, p)));
      assert.ok(covered(rel), `${rel} is packaged`);
    }
    assert.deepEqual(cfg.extraResources, [{ from: 'resources/tray', to: 'tray', filter: ['*.png'] }]);
    assert.equal(cfg.afterPack, relative(ROOT, join(ELECTRON_DIST_DIR, 'packaging', 'after-pack.cjs')));
  });
});

describe('forge configuration', () => {
  it('uses the shared fuses, every one set explicitly and locked down', () => {
    const plugin = forge.plugins?.[0] as unknown as { name: string; fusesConfig: unknown };
    assert.equal(plugin.name, 'fuses');
    assert.deepEqual(plugin.fusesConfig, FUSES);
    assert.equal(FUSES.strictlyRequireAllFuses, true);
    const numeric = Object.values(FuseV1Options).filter((v): v is number => typeof v === 'number');
    for (const f of numeric) assert.equal(typeof FUSES[f as keyof typeof FUSES], 'boolean', `fuse ${FuseV1Options[f]} set`);
    assert.equal(FUSES[FuseV1Options.RunAsNode], false);
    assert.equal(FUSES[FuseV1Options.EnableNodeOptionsEnvironmentVariable], false);
    assert.equal(FUSES[FuseV1Options.EnableNodeCliInspectArguments], false);
    assert.equal(FUSES[FuseV1Options.OnlyLoadAppFromAsar], true);
    assert.equal(FUSES[FuseV1Options.EnableEmbeddedAsarIntegrityValidation], true);
  });

  it('makes deb, dmg, squirrel and zip, and packages only built output', () => {
    assert.deepEqual(forge.makers?.map((m) => (m as { name: string }).name).sort(), [
      '@electron-forge/maker-deb',
      '@electron-forge/maker-dmg',
      '@electron-forge/maker-squirrel',
      '@electron-forge/maker-zip',
    ]);
    for (const keep of [
      '/package.json',
      '/dist',
      '/dist/daemon/cli.js',
      '/dist/renderer/app.js',
      '/dist/electron',
      '/dist/electron/main/index.js',
      '/dist/electron/preload/index.cjs',
      '/dist/electron/daemon-host.js',
      '/node_modules/koa/package.json',
    ]) {
      assert.equal(ignored(keep), false, keep);
    }
    for (const drop of [
      '/electron/main/index.ts',
      '/test/browser/dashboard.test.ts',
      '/daemon/main.ts',
      '/dist/electron/packaging/after-pack.cjs',
      '/dist/daemon/cli.js.map',
      '/README.md',
      '/.git',
    ]) {
      assert.equal(ignored(drop), true, drop);
    }
  });
});

describe('Electron bundles and the afterPack hook', () => {
  let out: string;
  let built: Awaited<ReturnType<typeof buildElectron>>;
  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'larder-electron-build-'));
    built = await buildElectron(out);
  });
  after(async () => rm(out, { recursive: true, force: true }));

  it('bundles main, preload and the daemon host; the sandboxed preload requires only electron', async () => {
    const preload = await readFile(built.preload, 'utf8');
    assert.deepEqual([...new Set(preload.match(/require\("[^"]+"\)/g))], ['require("electron")']);
    assert.match(preload, /exposeInMainWorld\("larder"/);
    const main = await readFile(built.main, 'utf8');
    assert.match(main, /from "electron"/);
    assert.doesNotMatch(main, /from "\.\.?\//, 'main is one file');
    assert.match(await readFile(built.daemonHost, 'utf8'), /--larder-cli/);
  });

  it('flips the fuses of the packed binary when electron-builder runs the hook', async () => {
    const appOutDir = await mkdtemp(join(tmpdir(), 'larder-packed-'));
    try {
      // A stand-in for the packed Electron executable: the fuse wire after its sentinel, all fuses enabled.
      const wire = Buffer.from([1, 8, ...Array(8).fill(0x31)]);
      const binary = Buffer.concat([Buffer.alloc(1000, 7), Buffer.from(SENTINEL, 'latin1'), wire, Buffer.alloc(500, 9)]);
      const exe = join(appOutDir, 'larder-app');
      await writeFile(exe, binary);
      const hook = (await resolveFunction('module', built.afterPack, 'afterPack')) as (ctx: unknown) => Promise<number>;
      const ctx = {
        appOutDir,
        electronPlatformName: 'linux',
        arch: 1,
        packager: { appInfo: { productFilename: 'Larder' }, executableName: 'larder-app' },
      };
      assert.equal(await hook(ctx), 1);
      const after = await readFile(exe);
      const at = after.indexOf(SENTINEL) + SENTINEL.length + 2;
      const states = [...after.subarray(at, at + 8)].map((b) => (b === 0x31 ? 'on' : b === 0x30 ? 'off' : `?${b}`));
      // RunAsNode, CookieEncryption, NODE_OPTIONS, --inspect, asar integrity, only asar, browser V8 snapshot, file:// privileges
      assert.deepEqual(states, ['off', 'on', 'off', 'off', 'on', 'on', 'off', 'off']);
      assert.equal(after.length, binary.length);
      assert.equal(packedElectronPath({ ...ctx, electronPlatformName: 'darwin' }), join(appOutDir, 'Larder.app'));
      assert.equal(packedElectronPath({ ...ctx, electronPlatformName: 'win32' }), join(appOutDir, 'Larder.exe'));
    } finally {
      await rm(appOutDir, { recursive: true, force: true });
    }
  });
});
