/**
 * Peak memory under anonymous load: N concurrent cold requests for N
 * distinct packuments of about 20 MB each (default 200), against the real
 * daemon in a child process (the CLI through tsx, with `npm start`'s node
 * flags) whose memory budget is the config's `limits:` (defaults unless
 * given). Requests answered 503 are retried after their Retry-After, so in
 * the end every document is served; each 200 is checked for its size and
 * name. Prints the daemon's peak RSS (VmHWM from /proc) and the answers.
 *
 *   node --import tsx bench/memory-bound.ts [--count 200] [--size 20000000]
 *        [--memory 512MiB] [--fills 16] [--queue-timeout 10s] [--attempts 50]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { BIG_DOC_NAME, BIG_DOC_VERSIONS, bigPackument } from './bigdoc.js';
import { MemoryMonitor, readMemory } from './proc.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
const log = (line: string): void => console.error(`[memory-bound ${new Date().toISOString().slice(11, 19)}] ${line}`);

const { values: flags } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    size: { type: 'string', default: '20000000' },
    memory: { type: 'string' },
    fills: { type: 'string' },
    'queue-timeout': { type: 'string' },
    attempts: { type: 'string', default: '50' },
  },
});
const count = Number(flags.count);
const size = Number(flags.size);

/** Serves `/<name>` as the template packument renamed to `<name>` (distinct bytes, one shared buffer). */
async function startUpstream(): Promise<{ origin: string; bytes: number; close(): void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const unpadded = bigPackument(origin).length;
  const template = bigPackument(origin, Math.max(0, Math.round((size - unpadded) / BIG_DOC_VERSIONS)));
  const head = Buffer.from(`{"_id":"${BIG_DOC_NAME}","name":"${BIG_DOC_NAME}",`);
  if (!template.subarray(0, head.length).equals(head)) throw new Error('unexpected packument template');
  const rest = template.subarray(head.length);
  server.on('request', (req, res) => {
    const name = (req.url ?? '').slice(1);
    if (!/^bound-\d+$/.test(name)) return void res.writeHead(404).end();
    const first = Buffer.from(`{"_id":"${name}","name":"${name}",`);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': first.length + rest.length });
    res.write(first);
    res.end(rest);
  });
  return { origin, bytes: template.length, close: () => server.close() };
}

async function startDaemon(origin: string, dir: string): Promise<{ url: string; pid: number; output(): string; stop(): Promise<void> }> {
  const limits: Record<string, string | number> = {};
  if (flags.memory) limits.memory = flags.memory;
  if (flags.fills) limits.fills = Number(flags.fills);
  if (flags['queue-timeout']) limits.queueTimeout = flags['queue-timeout'];
  const config = join(dir, 'larder.yaml');
  await writeFile(
    config,
    stringify({ remotes: { big: { type: 'npm', url: origin } }, log: { level: process.env.LARDER_BENCH_LOG ?? 'warn' }, limits }),
  );
  const args = ['--max-semi-space-size=2', '--import', 'tsx', join(ROOT, 'daemon/cli.ts'), 'serve', '--config', config];
  const child = spawn(process.execPath, [...args, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url) {
    url = /serving on (http:\/\/\S+)/.exec(out)?.[1];
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`daemon did not start:\n${out}`);
    await sleep(100);
  }
  return {
    url,
    pid: child.pid ?? 0,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

interface Outcome {
  status: number;
  attempts: number;
  busy: number;
  /** Connection errors (retried like a 503). */
  resets: number;
}

function request(url: string, agent: Agent): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, { agent }, resolve).once('error', reject));
}

async function fetchOne(url: string, name: string, agent: Agent, maxAttempts: number): Promise<Outcome> {
  let busy = 0;
  let resets = 0;
  for (let attempt = 1; ; attempt++) {
    const res = await request(`${url}/npm/${name}`, agent).catch((err: NodeJS.ErrnoException) => {
      if (attempt >= maxAttempts) throw err;
      resets++;
      return undefined;
    });
    if (!res) continue;
    if (res.statusCode === 503 && attempt < maxAttempts) {
      busy++;
      res.resume();
      await sleep(Number(res.headers['retry-after'] ?? 1) * 1000 * (0.5 + Math.random()));
      continue;
    }
    if (res.statusCode !== 200) {
      res.resume();
      return { status: res.statusCode ?? 0, attempts: attempt, busy: busy + (res.statusCode === 503 ? 1 : 0), resets };
    }
    // Read in pieces, keeping only the head (to check the name): the client holds no documents.
    let n = 0;
    let head = '';
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (head.length < 200) head += chunk.toString('utf8', 0, 200);
      n += chunk.length;
    }
    if (!head.includes(`"name":"${name}"`) || n < size * 0.9) throw new Error(`${name}: wrong document (${n} bytes)`);
    return { status: 200, attempts: attempt, busy, resets };
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'larder-memory-bound-'));
  const upstream = await startUpstream();
  log(`upstream: ${count} distinct packuments of ${(upstream.bytes / MiB).toFixed(1)} MiB (${BIG_DOC_VERSIONS} versions each)`);
  const daemon = await startDaemon(upstream.origin, dir);
  const monitor = new MemoryMonitor(daemon.pid, 100);
  try {
    await sleep(1000);
    const idle = readMemory(daemon.pid);
    log(`daemon pid ${daemon.pid}: idle RSS ${((idle?.rss ?? 0) / MiB).toFixed(0)} MiB; sending ${count} concurrent cold requests`);
    const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
    const t0 = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: count }, (_, i) => fetchOne(daemon.url, `bound-${i}`, agent, Number(flags.attempts))),
    );
    const seconds = (Date.now() - t0) / 1000;
    const peak = readMemory(daemon.pid);
    monitor.stop();
    const ok = outcomes.filter((o) => o.status === 200).length;
    const busy = outcomes.reduce((n, o) => n + o.busy, 0);
    const resets = outcomes.reduce((n, o) => n + o.resets, 0);
    const other = outcomes.filter((o) => o.status !== 200).map((o) => o.status);
    const limits = `memory ${flags.memory ?? '512MiB (default)'}, fills ${flags.fills ?? '16 (default)'}, queueTimeout ${flags['queue-timeout'] ?? '10s (default)'}`;
    console.log(
      [
        `limits: ${limits}`,
        `documents: ${count} x ${(upstream.bytes / MiB).toFixed(1)} MiB, all requested at once`,
        `answers: ${ok} x 200 (byte counts and names checked) after ${busy} x 503 E_BUSY retried, ${resets} connection errors retried; failures: ${other.length ? other.join(',') : 'none'}`,
        `took ${seconds.toFixed(1)} s`,
        `daemon RSS idle ${((idle?.rss ?? 0) / MiB).toFixed(0)} MiB; peak VmHWM ${((peak?.hwm ?? 0) / MiB).toFixed(0)} MiB`,
      ].join('\n'),
    );
    agent.destroy();
  } catch (err) {
    const lines = daemon.output().split('\n');
    console.error(
      `daemon output (end, without E_BUSY lines):\n${lines
        .filter((l) => !l.includes('E_BUSY'))
        .slice(-30)
        .join('\n')}`,
    );
    throw err;
  } finally {
    monitor.stop();
    await daemon.stop();
    upstream.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
