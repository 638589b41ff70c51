/**
 * A real one-member etcd (Debian's etcd-server) on loopback, for tests: a
 * foreground child process on two free 127.0.0.1 ports (client and peer),
 * its data in a temp dir (under /dev/shm when there is one). It can be stopped and started again on the same
 * ports and data (an etcd outage), and is removed with its data after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './peers.js';
import { waitFor } from './wait.js';

export interface EtcdServer {
  /** The client URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Kills etcd (SIGKILL); its data stays for `start`. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once it answers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdServer> {
  // In memory when the machine has /dev/shm: etcd fsyncs every write, which a busy CI disk makes slow.
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'larder-etcd-'));
  const [clientPort, peerPort] = await freePorts(2);
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let child: ChildProcess | undefined;
  let out = '';
  const start = async (): Promise<void> => {
    const args = [
      '--name=t',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=t=${peer}`,
      '--initial-cluster-state=new',
      '--log-level=error',
      '--logger=zap',
    ];
    const c = spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    c.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    child = c;
    await waitFor(
      async () => {
        if (c.exitCode !== null) throw new Error(`etcd exited (${c.exitCode}): ${out}`);
        const r = await fetch(`${url}/health`).catch(() => undefined);
        return r?.ok && ((await r.json()) as { health?: string }).health === 'true';
      },
      20_000,
      'etcd to answer /health',
    );
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise((resolve) => {
      c.once('exit', resolve);
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    url,
    kill,
    start,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
