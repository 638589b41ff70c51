/**
 * The real Larder daemon inside a test namespace: the CLI (`larder serve`)
 * spawned with `ip netns exec`, listening on the host's bridge address (so
 * its config needs `admin.token`), its JSON log followed for the peer set it
 * reports ('LAN peers changed'). Also requests from inside a namespace (the
 * test process lives in none of them), by `curl`, and npm run inside one.
 */
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { ConfigInput } from '../../daemon/config/schema.js';
import { ROOT } from './daemon.js';
import { onLines, type NetnsHost } from './netns.js';
import { waitFor } from './wait.js';

const execFileAsync = promisify(execFile);

export interface NetnsDaemon {
  url: string;
  /** The peer base URLs of its last 'LAN peers changed' log line. */
  peers(): string[];
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL (a laptop that dies): no shutdown, its connections cut by the kernel. */
  kill(): Promise<void>;
}

/** `port` 0 (the default) lets the kernel choose; a fixed one is free in a namespace of its own (static peer lists). */
export async function spawnNetnsDaemon(
  host: NetnsHost,
  config: Omit<ConfigInput, 'listen'>,
  dataDir: string,
  port = 0,
): Promise<NetnsDaemon> {
  const file = `${dataDir}.yaml`;
  await writeFile(file, stringify({ log: { level: 'info' }, ...config }));
  const child = host.spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'daemon/cli.ts'),
      'serve',
      '--config',
      file,
      '--listen',
      `${host.address}:${port}`,
      '--data-dir',
      dataDir,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let peers: string[] = [];
  let url = '';
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
    url = /serving on (http:\/\/\S+)/.exec(out)?.[1] ?? url;
  });
  onLines(child, (line) => {
    out += `${line}\n`;
    if (!line.includes('LAN peers changed')) return;
    peers = (JSON.parse(line) as { peers?: string[] }).peers ?? [];
  });
  await waitFor(() => url !== '' || exited, 60_000, `the daemon in ${host.ns} to listen`);
  if (!url) throw new Error(`daemon in ${host.ns} exited:\n${out}`);
  return {
    url,
    peers: () => peers,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await done;
    },
  };
}

/** A request (GET, or as `curlArgs` say) from inside the host's namespace: status and body text. */
export async function nsGet(host: NetnsHost, url: string, curlArgs: string[] = []): Promise<{ status: number; body: string }> {
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', host.ns, 'curl', '-sS', ...curlArgs, '-w', '\n%{http_code}', url], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const nl = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
}

/** Sum of a daemon metric's samples whose labels contain `labels`, read from inside its namespace. */
export async function nsMetric(host: NetnsHost, base: string, name: string, labels = ''): Promise<number> {
  const { body } = await nsGet(host, `${base}/metrics`);
  let sum = 0;
  for (const line of body.split('\n')) {
    const m = /^(\S+?)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && (m[2] ?? '').includes(labels)) sum += Number(m[3]);
  }
  return sum;
}

/** An `npm` executable for runNpm's `npmBin` that runs npm inside the namespace named by $LARDER_NETNS. */
export async function netnsNpmBin(dir: string): Promise<string> {
  const bin = join(dir, 'npm-in-netns');
  await writeFile(bin, '#!/bin/sh\nexec ip netns exec "$LARDER_NETNS" npm "$@"\n');
  await chmod(bin, 0o755);
  return bin;
}
