/**
 * Daemon supervision with real processes: a tiny Node child stands in for
 * the daemon (an HTTP server answering /healthz on a given port, optionally
 * crashing). Attach to a running daemon, start one, restart on crash with
 * backoff, replace an attached daemon that went away, stop only what we own.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DaemonSupervisor, type DaemonProcess, type SupervisorState } from '../../electron/main/daemon-supervisor.js';
import { httpProbe, nodeLauncher } from '../../electron/main/launchers.js';

// argv: <port> <crashAfterMs, 0 = never, -1 = exit at once>
const CHILD = `
const http = require('node:http');
const [port, crash] = process.argv.slice(1).map(Number);
if (crash < 0) process.exit(3);
const s = http.createServer((q, r) => { r.statusCode = q.url === '/healthz' ? 200 : 404; r.end('{"status":"ok"}'); });
s.listen(port, '127.0.0.1');
if (crash > 0) setTimeout(() => process.exit(3), crash);
process.on('SIGTERM', () => s.close(() => process.exit(0)));
`;

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function healthServer(port: number): Promise<Server> {
  const s = createServer((_q, r) => r.end('{"status":"ok"}'));
  s.listen(port, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

/** A launcher whose n-th launch uses crashPlan[n] (last entry repeats); records pids. */
function launcher(port: number, crashPlan: number[]) {
  const pids: number[] = [];
  let n = 0;
  const launch = (): DaemonProcess => {
    const crash = crashPlan[Math.min(n++, crashPlan.length - 1)]!;
    const p = nodeLauncher(process.execPath, ['-e', CHILD], [String(port), String(crash)], { stdio: 'ignore' })();
    if (p.pid) pids.push(p.pid);
    return p;
  };
  return { launch, pids, count: () => n };
}

function states(sup: DaemonSupervisor): SupervisorState[] {
  const seen: SupervisorState[] = [];
  sup.on('state', (s: SupervisorState) => seen.push(s));
  return seen;
}

/** Waits for `cond`; generous, since each step may spawn a node process on a loaded machine. */
async function until(cond: () => boolean | Promise<boolean>, ms = 40_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(25);
  }
}

describe('daemon supervisor', () => {
  it('attaches to a daemon already running and leaves it running on stop', async () => {
    const port = await freePort();
    const server = await healthServer(port);
    const url = `http://127.0.0.1:${port}`;
    const l = launcher(port, [0]);
    const sup = new DaemonSupervisor({ url, launch: l.launch, probe: httpProbe, monitorMs: 50 });
    assert.equal(await sup.start(), 'attached');
    assert.equal(sup.owned, false);
    assert.equal(sup.state, 'attached');
    await sleep(200); // monitor probes keep succeeding
    await sup.stop();
    assert.equal(l.count(), 0, 'never launched');
    assert.equal(await httpProbe(url), true, 'attached daemon still running');
    await new Promise((r) => server.close(r));
  });

  it('starts a daemon when none answers, owns it and stops it', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const l = launcher(port, [0]);
    const sup = new DaemonSupervisor({ url, launch: l.launch, probe: httpProbe });
    const seen = states(sup);
    assert.equal(await sup.start(), 'started');
    assert.equal(sup.owned, true);
    assert.equal(await httpProbe(url), true);
    await sup.stop();
    assert.deepEqual(seen, ['starting', 'running', 'stopping', 'stopped']);
    assert.equal(await httpProbe(url), false, 'owned daemon stopped with the app');
    assert.throws(() => process.kill(l.pids[0]!, 0), /ESRCH/);
  });

  it('restarts a crashed daemon after a backoff delay', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const l = launcher(port, [400, 0]); // first run crashes after 400 ms
    const sup = new DaemonSupervisor({ url, launch: l.launch, probe: httpProbe, backoff: { initialMs: 150, maxMs: 1000 } });
    const seen = states(sup);
    const delays: number[] = [];
    sup.on('restart', (_n: number, d: number) => delays.push(d));
    await sup.start();
    await until(() => sup.restarts === 1 && sup.state === 'running');
    assert.deepEqual(delays, [150]);
    assert.deepEqual(seen, ['starting', 'running', 'crashed', 'starting', 'running']);
    assert.equal(l.pids.length, 2);
    assert.notEqual(l.pids[0], l.pids[1]);
    assert.equal(await httpProbe(url), true);
    await sup.stop();
    assert.equal(await httpProbe(url), false);
  });

  it('doubles the backoff while the daemon keeps crashing, up to the cap', async () => {
    const port = await freePort();
    const l = launcher(port, [-1]); // exits at once, every time
    const sup = new DaemonSupervisor({
      url: `http://127.0.0.1:${port}`,
      launch: l.launch,
      probe: httpProbe,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    const delays: number[] = [];
    sup.on('restart', (_n: number, d: number) => delays.push(d));
    void sup.start();
    await until(() => delays.length >= 5);
    await sup.stop();
    assert.deepEqual(delays.slice(0, 5), [50, 100, 200, 200, 200]);
    const launched = l.count();
    await sleep(400);
    assert.equal(l.count(), launched, 'no restarts after stop');
  });

  it('replaces an attached daemon that goes away with its own', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = await healthServer(port);
    const l = launcher(port, [0]);
    const sup = new DaemonSupervisor({ url, launch: l.launch, probe: httpProbe, monitorMs: 50 });
    assert.equal(await sup.start(), 'attached');
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await until(() => sup.state === 'running');
    assert.equal(sup.owned, true);
    assert.equal(l.count(), 1);
    assert.equal(await httpProbe(url), true);
    await sup.stop();
    assert.equal(await httpProbe(url), false);
  });
});
