/**
 * Builds the dashboard: renderer/main.tsx (preact + uPlot) bundled by esbuild
 * into dist/renderer/{index.html, app.js, app.css}. The daemon serves that
 * directory at /_/ui/ (daemon/http/ui-static.ts); the Electron window loads
 * it from the daemon. Run: `npm run build:ui`.
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the built dashboard goes by default. */
export const UI_DIST_DIR = join(ROOT, 'dist', 'renderer');

/** Options of {@link buildUi}. */
export interface BuildUiOptions {
  outDir?: string;
  /** Minify (default true). */
  minify?: boolean;
  /** Emit a linked source map (default false). */
  sourcemap?: boolean;
}

/** Result of a build: the directory and the size of each emitted file. */
export interface BuildUiResult {
  outDir: string;
  files: Record<string, number>;
}

/** Bundles the dashboard; throws with esbuild's messages on errors. */
export async function buildUi(opts: BuildUiOptions = {}): Promise<BuildUiResult> {
  const outDir = opts.outDir ?? UI_DIST_DIR;
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'renderer', 'main.tsx')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: opts.minify ?? true,
    sourcemap: opts.sourcemap ? 'linked' : false,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  await copyFile(join(ROOT, 'renderer', 'index.html'), join(outDir, 'index.html'));
  const files: Record<string, number> = {};
  for (const f of ['index.html', 'app.js', 'app.css']) files[f] = (await stat(join(outDir, f))).size;
  return { outDir, files };
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const started = Date.now();
  buildUi({ sourcemap: process.argv.includes('--sourcemap') }).then(
    (r) => {
      const sizes = Object.entries(r.files)
        .map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} KiB`)
        .join(', ');
      console.log(`dashboard built in ${Date.now() - started} ms → ${r.outDir} (${sizes})`);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
