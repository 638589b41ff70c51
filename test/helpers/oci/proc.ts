/**
 * Process and networking utilities shared by the OCI test fixtures:
 * running a command with a hard timeout, picking a free loopback port,
 * polling until a condition holds, and killing stray children on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** Result of {@link runCommand}: exit code plus the complete captured output. */
export interface CommandResult {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  /** Signal that terminated the process, if any. */
  signal: NodeJS.Signals | null;
  /** Raw stdout bytes (byte-exact, e.g. for `skopeo inspect --raw`). */
  stdout: Buffer;
  /** Stderr decoded as UTF-8. */
  stderr: string;
}

/** Options for {@link runCommand}. */
export interface RunOptions {
  /** Full environment for the child (not merged with process.env). */
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) after this many milliseconds. Default 120 s. */
  timeoutMs?: number;
  /** Working directory. */
  cwd?: string;
  /** When true (default) a non-zero exit rejects with a descriptive error. */
  check?: boolean;
}

/**
 * Runs `cmd args…` without a shell, capturing stdout as bytes, and rejects on
 * timeout or (by default) on a non-zero exit code with stderr in the message.
 */
export function runCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: CommandResult = { code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
      const line = `${cmd} ${args.join(' ')}`;
      if (timedOut) reject(new Error(`timed out after ${timeoutMs} ms: ${line}\n${result.stderr}`));
      else if ((opts.check ?? true) && code !== 0) {
        reject(new Error(`exit ${code ?? signal}: ${line}\n${result.stderr}${result.stdout.toString('utf8').slice(0, 2000)}`));
      } else resolve(result);
    });
  });
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `probe` every `intervalMs` until it returns true; rejects after `timeoutMs`. */
export async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Registers a long-running child so it is SIGKILLed if the test process exits
 * without stopping it (crash, assertion failure, Ctrl-C).
 */
export function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and resolves once the child has exited. */
export function killChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
