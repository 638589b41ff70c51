/**
 * Ways to launch the daemon for the supervisor: an Electron utility process
 * (packaged app; works with the RunAsNode fuse off) or a plain Node child
 * process (development and tests). Both adapt to DaemonProcess.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import type { DaemonProcess } from './daemon-supervisor.js';

/** The part of Electron's utilityProcess the launcher uses. */
export interface UtilityProcessApi {
  fork(
    modulePath: string,
    args?: string[],
    options?: { serviceName?: string; stdio?: 'ignore' | 'inherit' | 'pipe'; env?: NodeJS.ProcessEnv; execArgv?: string[] },
  ): {
    readonly pid?: number | undefined;
    kill(): boolean;
    once(event: 'exit', listener: (code: number) => void): unknown;
  };
}

/**
 * V8 flags the daemon starts with, as `npm start` and bin/larder.js pass
 * them: a young generation of 2 x 2 MB instead of V8's 2 x 16 MB (bench/memory.ts).
 */
export const DAEMON_EXEC_ARGV: readonly string[] = ['--max-semi-space-size=2'];

/** Arguments of `larder serve` for a listen address and data directory. */
export function serveArgs(listen: string, dataDir: string, configFile?: string): string[] {
  return ['serve', '--listen', listen, '--data-dir', dataDir, ...(configFile ? ['--config', configFile] : [])];
}

/** Launches `node <script> <args>` as a child process. */
export function nodeLauncher(nodePath: string, script: string[], args: string[], opts: SpawnOptions = {}): () => DaemonProcess {
  return () => {
    const child = spawn(nodePath, [...script, ...args], { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
    return {
      get pid() {
        return child.pid;
      },
      kill: (signal) => child.kill(signal),
      onExit: (listener) => {
        child.once('exit', (code) => listener(code));
        child.once('error', () => listener(null));
      },
    };
  };
}

/**
 * Launches the daemon in an Electron utility process. `hostModule` is the
 * bundled electron/daemon-host.ts, which loads `cliModule` and runs `args`.
 */
export function utilityLauncher(up: UtilityProcessApi, hostModule: string, cliModule: string, args: string[]): () => DaemonProcess {
  return () => {
    const p = up.fork(hostModule, ['--larder-cli', cliModule, ...args], {
      serviceName: 'Larder daemon',
      stdio: 'inherit',
      execArgv: [...DAEMON_EXEC_ARGV],
    });
    return {
      get pid() {
        return p.pid;
      },
      kill: () => p.kill(),
      onExit: (listener) => {
        p.once('exit', (code) => listener(code));
      },
    };
  };
}

/** GET <url>/healthz with a short timeout; true on HTTP 200. */
export async function httpProbe(url: string, timeoutMs = 1500): Promise<boolean> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}
