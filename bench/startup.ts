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
 * `measure` starts the real CLI (`larder serve` via tsx, from `--root`,
 * default this checkout: point it at an older checkout to compare) on that
 * data dir, and reports per run: ms from spawn to the first answered
 * request (a cache HIT of entry 0), RSS and anonymous RSS right then, and
 * again once the start-up scan reports "store reconciled".
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

async function memory(pid: number): Promise<{ rssMiB: number; anonMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(kb('VmRSS') / 102.4) / 10, anonMiB: Math.round(kb('RssAnon') / 102.4) / 10 };
}

interface Run {
  firstAnswerMs: number;
  atFirstAnswer: { rssMiB: number; anonMiB: number };
  reconciledMs: number;
  afterReconcile: { rssMiB: number; anonMiB: number };
}

async function measureOnce(dataDir: string, root: string): Promise<Run> {
  const entries = Number(await readFile(join(dataDir, 'bench-entries'), 'utf8'));
  const cfg = join(resolve(dataDir), '..', `startup-bench-${process.pid}.yaml`);
  await writeFile(cfg, `remotes:\n  local:\n    type: npm\n    url: http://127.0.0.1:9\nstorage:\n  maxSize: 1TB\n  minFree: 1MB\nlog:\n  level: info\n`);
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'daemon/cli.ts'), 'serve', '--config', cfg, '--listen', '127.0.0.1:0', '--data-dir', resolve(dataDir)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const until = async (re: RegExp): Promise<RegExpExecArray> => {
    for (let i = 0; i < 12_000; i++) {
      const m = re.exec(out);
      if (m) return m;
      if (child.exitCode !== null) throw new Error(`daemon exited:\n${out}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`timed out waiting for ${re}:\n${out}`);
  };
  try {
    const url = (await until(/serving on (http:\/\/[^\s]+)/))[1]!;
    const res = await fetch(`${url}/npm/${name(0)}/-/${file(0)}`);
    await res.arrayBuffer();
    const firstAnswerMs = Math.round(performance.now() - t0);
    // An empty cache has nothing to hit: any answer counts there.
    if (entries > 0 && (res.status !== 200 || res.headers.get('x-larder-cache') !== 'HIT')) throw new Error(`expected a HIT, got ${res.status} ${res.headers.get('x-larder-cache')}`);
    const atFirstAnswer = await memory(child.pid!);
    await until(/store reconciled/);
    const reconciledMs = Math.round(performance.now() - t0);
    const afterReconcile = await memory(child.pid!);
    return { firstAnswerMs, atFirstAnswer, reconciledMs, afterReconcile };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function main(): Promise<void> {
  const [cmd, dataDir, arg] = process.argv.slice(2);
  const flag = (f: string): string | undefined => {
    const i = process.argv.indexOf(f);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  if (cmd === 'fill' && dataDir && arg) return fill(dataDir, Number(arg));
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
