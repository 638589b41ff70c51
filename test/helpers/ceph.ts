/**
 * A real one-node Ceph cluster with RADOS Gateway on loopback, for tests:
 * mon, mgr, one memstore OSD and radosgw, each a foreground child process
 * (`-f`) of the test, all state in one temp dir, ports chosen free on
 * 127.0.0.1. Auth is `none`; the S3 user is made with `radosgw-admin`.
 *
 * One thing the obvious recipe misses: radosgw asks the monitor for
 * `secure` connection mode only, which `auth none` cannot give (its log
 * says `get_initial_auth_request returned -13`, the start says "failed to
 * fetch mon config"); `ms mon client mode = crc secure` fixes it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './daemon.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface CephRgw {
  /** The S3 endpoint, `http://127.0.0.1:<port>`. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  dir: string;
  /** Milliseconds from the first command until RGW answered and the user existed. */
  startMs: number;
  stop(): Promise<void>;
  /** Kills the radosgw process only (the cluster stays up): S3 stops answering. */
  stopRgw(): Promise<void>;
  /** Starts radosgw again on the same port; resolves once it answers. */
  startRgw(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number, memstoreBytes: number): string {
  return `[global]
fsid = ${fsid}
mon host = 127.0.0.1:${monPort}
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail crit = 0
mon data avail warn = 1
osd objectstore = memstore
memstore device bytes = ${memstoreBytes}
run dir = ${dir}/run
log file = ${dir}/log/$name.log
admin socket = ${dir}/run/$name.asok
ms bind ipv6 = false
public addr = 127.0.0.1
[mon.a]
mon data = ${dir}/mon
[osd.0]
osd data = ${dir}/osd
[mgr.x]
mgr data = ${dir}/mgr
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
`;
}

export interface CephOptions {
  /** Size of the in-memory OSD (default 2 GiB). */
  memstoreBytes?: number;
}

/** Starts the cluster; throws (after stopping what started) with the tail of the failing log. */
export async function startCephRgw(opts: CephOptions = {}): Promise<CephRgw> {
  const t0 = Date.now();
  const dir = await tempDir('larder-ceph-');
  for (const d of ['log', 'run', 'mon', 'osd', 'mgr', 'rgw']) await mkdir(join(dir, d));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  const conf = join(dir, 'ceph.conf');
  await writeFile(conf, cephConf(dir, fsid, monPort, rgwPort, Math.round(opts.memstoreBytes ?? 2 ** 31)));
  const children: ChildProcess[] = [];
  const daemon = (cmd: string, args: string[]): ChildProcess => {
    const child = spawn(cmd, ['-c', conf, ...args, '-f'], { stdio: 'ignore' });
    child.on('error', () => undefined);
    children.push(child);
    return child;
  };
  const kill = async (c: ChildProcess): Promise<void> => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  };
  const stop = async (): Promise<void> => {
    for (const c of [...children].reverse()) await kill(c);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run('monmaptool', ['--create', '--add', 'a', `127.0.0.1:${monPort}`, '--fsid', fsid, join(dir, 'monmap')]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')]);
    daemon('ceph-mon', ['-i', 'a']);
    daemon('ceph-mgr', ['-i', 'x']);
    const osdUuid = randomUUID();
    await run('ceph', ['-c', conf, '--connect-timeout', '30', 'osd', 'new', osdUuid]);
    await run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
    daemon('ceph-osd', ['-i', '0']);
    let rgw = daemon('radosgw', ['-n', 'client.rgw']);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const answers = () => waitFor(async () => (await fetch(endpoint).catch(() => undefined))?.ok, 60_000, 'radosgw to answer', 100);
    await answers();
    const accessKey = randomBytes(10).toString('hex').toUpperCase();
    const secretKey = randomBytes(20).toString('hex');
    await run('radosgw-admin', [
      '-c',
      conf,
      'user',
      'create',
      '--uid=larder',
      '--display-name=larder',
      `--access-key=${accessKey}`,
      `--secret=${secretKey}`,
    ]);
    const stopRgw = () => kill(rgw);
    const startRgw = async (): Promise<void> => {
      await kill(rgw);
      rgw = daemon('radosgw', ['-n', 'client.rgw']);
      await answers();
    };
    return { endpoint, accessKey, secretKey, dir, startMs: Date.now() - t0, stop, stopRgw, startRgw };
  } catch (err) {
    const log = await readFile(join(dir, 'log', 'client.rgw.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`Ceph/RGW did not start: ${(err as Error).message}\n${log.slice(-2000)}`);
  }
}
