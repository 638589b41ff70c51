/**
 * Bundles the Electron side with esbuild into dist/electron/:
 *   main/index.js       main process (ESM; electron external)
 *   preload/index.cjs   sandboxed preload (one CommonJS file; electron external)
 *   daemon-host.js      utility-process entry that runs dist/daemon/cli.js
 *   packaging/after-pack.cjs  electron-builder hook flipping the fuses
 * Run: `npm run build:electron` (after `npm run build` for the daemon and UI).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Default output directory. */
export const ELECTRON_DIST_DIR = join(ROOT, 'dist', 'electron');

/** Bundles every entry; returns the output paths by role. */
export async function buildElectron(
  outDir: string = ELECTRON_DIST_DIR,
): Promise<Record<'main' | 'preload' | 'daemonHost' | 'afterPack', string>> {
  await rm(outDir, { recursive: true, force: true });
  const common: BuildOptions = {
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
    legalComments: 'none',
    sourcemap: false,
  };
  const out = {
    main: join(outDir, 'main', 'index.js'),
    preload: join(outDir, 'preload', 'index.cjs'),
    daemonHost: join(outDir, 'daemon-host.js'),
    afterPack: join(outDir, 'packaging', 'after-pack.cjs'),
  };
  // Native and optional modules stay external to the main bundle.
  const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(ROOT, 'electron/main/index.ts')],
      outfile: out.main,
      format: 'esm',
      external: ['electron'],
      banner,
    }),
    build({
      ...common,
      entryPoints: [join(ROOT, 'electron/preload/index.ts')],
      outfile: out.preload,
      format: 'cjs',
      platform: 'browser',
      external: ['electron'],
    }),
    build({ ...common, entryPoints: [join(ROOT, 'electron/daemon-host.ts')], outfile: out.daemonHost, format: 'esm' }),
    build({ ...common, entryPoints: [join(ROOT, 'electron/packaging/after-pack.ts')], outfile: out.afterPack, format: 'cjs' }),
  ]);
  return out;
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  buildElectron().then(
    (o) => console.log(`electron bundles → ${Object.values(o).join(', ')}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
