/**
 * Debian's pip (python3-pip 23.0.1) in a venv made by the test, run with an
 * isolated config and no cache, plus a tiny front proxy that makes pip see
 * HTML pages (pip always prefers PEP 691 JSON; the proxy rewrites `Accept`
 * to `text/html` so the HTML form and its metadata attributes get exercised).
 */
import { execFile } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PipResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Venv {
  private constructor(readonly dir: string) {}

  /** Creates a venv with Debian's python3 (whose ensurepip installs Debian's pip). */
  static async create(dir: string): Promise<Venv> {
    await run('/usr/bin/python3', ['-m', 'venv', dir], { timeout: 120_000 });
    return new Venv(dir);
  }

  get python(): string {
    return join(this.dir, 'bin', 'python');
  }

  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: `${join(this.dir, 'bin')}:/usr/bin:/bin`,
      HOME: this.dir,
      PIP_CONFIG_FILE: '/dev/null',
      PIP_NO_CACHE_DIR: '1',
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
      PIP_NO_INPUT: '1',
      PYTHONDONTWRITEBYTECODE: '1',
    };
    return env;
  }

  /** Runs `python -m pip …`; never throws on a non-zero exit. */
  async pip(args: string[], cwd?: string, netns?: string): Promise<PipResult> {
    return this.exec(['-m', 'pip', '--no-color', ...args], cwd, netns);
  }

  /** Runs the venv's python; inside network namespace `netns` when given (`ip netns exec`; needs root). */
  async exec(args: string[], cwd?: string, netns?: string): Promise<PipResult> {
    const [cmd, argv] = netns ? ['/usr/sbin/ip', ['netns', 'exec', netns, this.python, ...args]] : [this.python, args];
    try {
      const r = await run(cmd, argv, { env: this.env(), cwd, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }
}

/** Forwards to `target` with `Accept: text/html`, counting the requests it saw. */
export async function startHtmlOnlyProxy(target: string): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const t = new URL(target);
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? '');
    const headers = { ...req.headers, accept: 'text/html', host: t.host };
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
