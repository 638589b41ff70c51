/**
 * Shared plumbing of the npm end-to-end tests: one generated fixture per
 * test file, a daemon whose request log is captured (to see which paths
 * clients asked for), raw HTTP helpers, and views of the data directory and
 * of an installed `node_modules` tree.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { validateConfig } from '../../daemon/config/load.js';
import type { ConfigInput } from '../../daemon/config/schema.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type RunningDaemon } from '../../daemon/main.js';
import { generateRegistry } from './npm-fixture/generate.js';
import type { RegistryFixture } from './npm-fixture/types.js';

/** The Accept header npm sends for installs (abbreviated packuments). */
export const CORGI_ACCEPT = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';

/** Generates the fixture registry once in a fresh temp root. */
export async function setupFixture(prefix: string): Promise<{ root: string; fixture: RegistryFixture }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const fixture = await generateRegistry(join(root, 'registry'));
  return { root, fixture };
}

/** One request line of the daemon's structured log. */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  cache: string;
  /** Duration as logged, ms. */
  ms: number;
}

export interface LoggingDaemon extends RunningDaemon {
  dataDir: string;
  /** Requests logged so far (probes excluded). */
  readonly requests: LoggedRequest[];
  close(): Promise<void>;
}

/** The real daemon in this process on 127.0.0.1:0, with its request log captured. */
export async function startLoggingDaemon(config: Omit<ConfigInput, 'listen'>, dataDir: string): Promise<LoggingDaemon> {
  const requests: LoggedRequest[] = [];
  let pending = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      pending += chunk.toString('utf8');
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const rec = JSON.parse(line) as { msg?: string } & Partial<LoggedRequest>;
        if (rec.msg === 'request' && rec.path !== undefined) {
          requests.push({ method: rec.method ?? '', path: rec.path, status: rec.status ?? 0, cache: rec.cache ?? '', ms: rec.ms ?? 0 });
        }
      }
      cb();
    },
  });
  const cfg = validateConfig({ listen: '127.0.0.1:0', ...config, dataDir }, 'test');
  const daemon = await startDaemon(cfg, { log: createLogger('info', sink) });
  return {
    ...daemon,
    dataDir,
    requests,
    async close() {
      await daemon.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Fetched {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** GET (or another method) returning the whole body. */
export async function get(url: string, init: RequestInit = {}): Promise<Fetched> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export function sri512(buf: Buffer): string {
  return `sha512-${createHash('sha512').update(buf).digest('base64')}`;
}

export function sha256hex(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Hex digests of every committed blob under `<dataDir>/blobs/sha256`. */
export async function blobsOnDisk(dataDir: string): Promise<Set<string>> {
  const out = new Set<string>();
  const base = join(dataDir, 'blobs', 'sha256');
  for (const p of await readdir(base).catch(() => [] as string[])) {
    for (const f of await readdir(join(base, p))) out.add(f);
  }
  return out;
}

/** Names of the files in `<dataDir>/tmp`. */
export async function tempFiles(dataDir: string): Promise<string[]> {
  return readdir(join(dataDir, 'tmp')).catch(() => [] as string[]);
}

/**
 * A content map of a directory tree: relative path → sha256 of the file, or
 * `link:<target>` for symlinks. Paths matching `skip` are left out.
 */
export async function treeDigest(dir: string, skip: (rel: string) => boolean = () => false): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      const st = await lstat(p);
      if (st.isSymbolicLink()) out.set(rel, `link:${await readlink(p)}`);
      else if (st.isDirectory()) await walk(p);
      else out.set(rel, sha256hex(await readFile(p)));
    }
  };
  await walk(dir);
  return out;
}

/** Request lines of npm's `--loglevel=http` output: `[method, status, url]`. */
export function npmHttpLog(stderr: string): Array<{ method: string; status: number; url: string }> {
  const out: Array<{ method: string; status: number; url: string }> = [];
  for (const m of stderr.matchAll(/npm http fetch (\w+) (\d{3}) (\S+)/g)) out.push({ method: m[1]!, status: Number(m[2]), url: m[3]! });
  return out;
}
