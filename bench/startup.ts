/**
 * Start-up cost against the size of the cache (not part of `npm test` or `npm run bench`).
 *
 *   node --import tsx bench/startup.ts fill <dataDir> <N>
 *   node --import tsx bench/startup.ts measure <dataDir> [--root <checkout>] [--runs 3]
 *
 * `fill` writes N npm tarball entries the way a fill commits them (blob file
 * at blobs/sha256/<2>/<hex>, then `putEntry` of the entry and its blob row
 * through the real LmdbIndex), with 1–3 KiB random bodies, but without the
 * per-blob fsyncs (a fill of 100k through HTTP would take many minutes; what
 * is left on disk is the same).
 *
 * `measure` runs, per run, a child process that loads the daemon of
 * `--root` (default this checkout: point it at an older checkout to
 * compare), then starts it on that data dir (`startDaemon`, as `larder
 * serve` does) and reports: ms and CPU ms from that call to the first
 * answered request (a cache HIT of entry 0), RSS and anonymous RSS right
 * then, and again once the start-up reconciliation is done (the background
 * orphan scan, where there is one). Module loading is left out: it does
 * not depend on the cache and dominates on a busy machine.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LmdbIndex } from '../daemon/storage/lmdb-index.js';
import { DataPaths } from '../daemon/storage/paths.js';

const HERE = fileURLToPath(new URL('..', import.meta.url));
const name = (i: number): string => `pkg-${i}`;
const file = (i: number): string => `pkg-${i}-1.0.0.tgz`;

async function fill(dataDir: string, n: number): Promise<void> {
  const paths = new DataPaths(resolve(dataDir));
  for (let p = 0; p < 256; p++) await mkdir(join(paths.blobsDir, p.toString(16).padStart(2, '0')), { recursive: true });
  await mkdir(paths.tmpDir, { recursive: true });
  const index = new LmdbIndex(paths.indexDir);
  const started = Date.now();
  const one = async (i: number): Promise<void> => {
    const body = randomBytes(1024 + ((i * 7919) % 2048));
    const hex = createHash('sha256').update(body).digest('hex');
    const digest = `sha256:${hex}`;
    await writeFile(paths.blob(digest).file, body);
    const at = Date.now();
    await index.putEntry(
      {
        key: `npm:local:tgz:${name(i)}/${file(i)}`,
        digest,
        size: body.length,
        mediaType: 'application/octet-stream',
        verified: { sha256: hex, sha512: createHash('sha512').update(body).digest('hex') },
        fetchedAt: at,
        expiresAt: 8.64e15,
        immutable: true,
        meta: { protocol: 'npm', name: name(i), file: file(i), remote: 'local' },
      },
      [[digest, { size: body.length, createdAt: at, lastAccess: at }]],
    );
  };
  for (let i = 0; i < n; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, k) => one(i + k)));
    if (i % 20_000 === 0) process.stderr.write(`${i}/${n}\n`);
  }
  await index.close();
  await writeFile(join(dataDir, 'bench-entries'), `${n}\n`);
  console.log(JSON.stringify({ filled: n, ms: Date.now() - started }));
}

async function memory(): Promise<{ rssMiB: number; anonMiB: number }> {
  const status = await readFile('/proc/self/status', 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(kb('VmRSS') / 102.4) / 10, anonMiB: Math.round(kb('RssAnon') / 102.4) / 10 };
}

interface Run {
  /** From the call of startDaemon (modules already loaded) to the first answered request. */
  firstAnswerMs: number;
  /** CPU time of the process over the same span (less sensitive to a busy machine). */
  firstAnswerCpuMs: number;
  atFirstAnswer: { rssMiB: number; anonMiB: number };
  /** Until the start-up reconciliation reported (the background scan, where there is one). */
  reconciledMs: number;
  afterReconcile: { rssMiB: number; anonMiB: number };
}

/** In a child process: loads `root`'s daemon, then times its start on `dataDir`. */
async function child(root: string, dataDir: string): Promise<void> {
  const entries = Number(await readFile(join(dataDir, 'bench-entries'), 'utf8'));
  const { startDaemon } = (await import(join(root, 'daemon/main.ts'))) as typeof import('../daemon/main.js');
  const { validateConfig } = (await import(join(root, 'daemon/config/load.ts'))) as typeof import('../daemon/config/load.js');
  const { createLogger } = (await import(join(root, 'daemon/log.ts'))) as typeof import('../daemon/log.js');
  const cfg = validateConfig(
    {
      listen: '127.0.0.1:0',
      dataDir: resolve(dataDir),
      remotes: { local: { type: 'npm', url: 'http://127.0.0.1:9' } },
      storage: { maxSize: '1TB', minFree: '1MB' },
    },
    'bench',
  );
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const daemon = await startDaemon(cfg, { log: createLogger('silent') });
  const res = await fetch(`${daemon.url}/npm/${name(0)}/-/${file(0)}`);
  await res.arrayBuffer();
  const firstAnswerMs = Math.round(performance.now() - t0);
  const cpu = process.cpuUsage(c0);
  // An empty cache has nothing to hit: any answer counts there.
  if (entries > 0 && (res.status !== 200 || res.headers.get('x-larder-cache') !== 'HIT'))
    throw new Error(`expected a HIT, got ${res.status}`);
  const atFirstAnswer = await memory();
  const recovered = (daemon as { recovered?: Promise<unknown> }).recovered;
  if (recovered) await recovered;
  const reconciledMs = Math.round(performance.now() - t0);
  const afterReconcile = await memory();
  await daemon.stop();
  const run: Run = {
    firstAnswerMs,
    firstAnswerCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    atFirstAnswer,
    reconciledMs,
    afterReconcile,
  };
  console.log(JSON.stringify(run));
}

async function measureOnce(dataDir: string, root: string): Promise<Run> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', resolve(dataDir), '--root', root], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise((r) => proc.once('exit', r));
  if (code !== 0) throw new Error(`child exited with ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as Run;
}

async function main(): Promise<void> {
  const [cmd, dataDir, arg] = process.argv.slice(2);
  const flag = (f: string): string | undefined => {
    const i = process.argv.indexOf(f);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  if (cmd === 'fill' && dataDir && arg) return fill(dataDir, Number(arg));
  if (cmd === 'child' && dataDir) return child(resolve(flag('--root') ?? HERE), dataDir);
  if (cmd === 'measure' && dataDir) {
    const root = resolve(flag('--root') ?? HERE);
    const runs: Run[] = [];
    for (let i = 0; i < Number(flag('--runs') ?? 3); i++) runs.push(await measureOnce(dataDir, root));
    const median = (f: (r: Run) => number): number => runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
    console.log(
      JSON.stringify({
        root,
        dataDir,
        runs,
        median: {
          firstAnswerMs: median((r) => r.firstAnswerMs),
          firstAnswerCpuMs: median((r) => r.firstAnswerCpuMs),
          anonAtFirstAnswerMiB: median((r) => r.atFirstAnswer.anonMiB),
          rssAtFirstAnswerMiB: median((r) => r.atFirstAnswer.rssMiB),
          reconciledMs: median((r) => r.reconciledMs),
          anonAfterReconcileMiB: median((r) => r.afterReconcile.anonMiB),
        },
      }),
    );
    return;
  }
  console.error('usage: bench/startup.ts fill <dataDir> <N> | measure <dataDir> [--root <checkout>] [--runs 3]');
  process.exitCode = 2;
}

await main();
