/**
 * Starts the real daemon for tests: in-process on 127.0.0.1:0 (fast), or as
 * a child process running the real CLI (for crash and signal tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { validateConfig } from '../../daemon/config/load.js';
import type { ConfigInput } from '../../daemon/config/schema.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type RunningDaemon } from '../../daemon/main.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function tempDir(prefix = 'larder-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface TestDaemon extends RunningDaemon {
  dataDir: string;
  /** Stops the daemon and removes its data directory (unless keepData). */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

/** The real daemon, in this process, on a free loopback port. */
export async function startTestDaemon(
  config: Omit<ConfigInput, 'listen'>,
  opts: { dataDir?: string; listen?: string } = {},
): Promise<TestDaemon> {
  const dataDir = opts.dataDir ?? (await tempDir());
  // `listen` lets a test restart a daemon on the port it had (its children keep their parent URL).
  const cfg = validateConfig({ listen: opts.listen ?? '127.0.0.1:0', ...config, dataDir }, 'test');
  const daemon = await startDaemon(cfg, { log: createLogger(process.env.LARDER_TEST_LOG ?? 'silent') });
  return {
    ...daemon,
    dataDir,
    async close(o = {}) {
      await daemon.stop();
      if (!o.keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ChildDaemon {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The real CLI (`larder serve`) in a child process, via tsx; on a free loopback port unless `listen` names one. */
export async function spawnDaemon(
  config: Omit<ConfigInput, 'listen'>,
  dataDir: string,
  extraArgs: string[] = [],
  listen = '127.0.0.1:0',
): Promise<ChildDaemon> {
  const file = join(dataDir, '..', `larder-${process.pid}-${Date.now()}.yaml`);
  await writeFile(file, stringify(config));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), 'serve', '--config', file, '--listen', listen, '--data-dir', dataDir, ...extraArgs],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`daemon did not start:\n${out}`)), 30_000);
    const check = (): void => {
      const m = /serving on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`daemon exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    child,
    output: () => out,
    kill: async (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}
