/**
 * Runs Debian's go (1.19) in an isolated environment: its own HOME, GOPATH,
 * module cache and build cache under a temp dir, no go env file, no network
 * fallbacks (every proxy is given explicitly), GOFLAGS=-modcacherw so the
 * module cache can be deleted. Also builds and starts the test checksum
 * database (sumdb-server/main.go against Debian's golang.org/x/mod).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../daemon.js';

const run = promisify(execFile);

export interface GoResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of one isolated go "machine" rooted at `home`. */
export function goEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    HOME: home,
    GOPATH: join(home, 'gopath'),
    GOMODCACHE: join(home, 'modcache'),
    GOCACHE: join(home, 'gocache'),
    GOENV: 'off',
    GOFLAGS: '-modcacherw',
    GOTOOLCHAIN: 'local',
    GO111MODULE: 'on',
    CGO_ENABLED: '0',
    GOSUMDB: 'off',
    GOPROXY: 'off',
    ...extra,
  };
}

/** Runs `go …`; never throws on a non-zero exit. */
export async function runGo(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<GoResult> {
  try {
    const r = await run('/usr/bin/go', args, { cwd, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface TestSumdb {
  url: string;
  /** The verifier key, usable as GOSUMDB. */
  vkey: string;
  hits(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Compiles the checksum database server (GOPATH mode against /usr/share/gocode) into `dir`. */
export async function buildSumdbServer(dir: string): Promise<string> {
  const out = join(dir, 'sumdb-server');
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: dir,
    GO111MODULE: 'off',
    GOPATH: '/usr/share/gocode',
    GOCACHE: join(dir, 'gocache'),
    GOFLAGS: '',
  };
  await run('/usr/bin/go', ['build', '-o', out, join(ROOT, 'test/helpers/go/sumdb-server/main.go')], { env, timeout: 240_000 });
  return out;
}

/** Starts a checksum database named `name` over the modules of a GOPROXY directory. */
export async function startSumdb(binary: string, proxyDir: string, name: string): Promise<TestSumdb> {
  const child: ChildProcess = spawn(binary, [proxyDir, name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`sumdb-server exited with ${code}`)));
  });
  const { url, vkey } = JSON.parse(line) as { url: string; vkey: string };
  return {
    url,
    vkey,
    hits: async () => (await (await fetch(`${url}/_hits`)).json()) as Record<string, number>,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
