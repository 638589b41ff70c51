/**
 * Test hosts made of Linux network namespaces: N "hosts", each a namespace
 * with `lo` up and one veth (`eth0`, 10.77.<x>.<i+1>/24, multicast on) whose
 * other end sits on a bridge living in its own namespace, so nothing touches
 * the machine's interfaces and nothing leaves the sandbox. Names are
 * `larder-<pid>-<i>` (bridge: `larder-<pid>-br`); `close()` deletes them
 * all, and `createNetnsLab` first deletes leftovers of crashed runs (names
 * whose pid is no longer alive). Needs root and iproute2.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const PREFIX = 'larder-';

export interface NetnsHost {
  /** Namespace name. */
  ns: string;
  /** IPv4 address on the bridge, e.g. 10.77.1.2. */
  address: string;
  /** Spawns `cmd args` inside this namespace (`ip netns exec`). */
  spawn(cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Runs a command inside this namespace and returns its stdout (throws on failure). */
  run(cmd: string, args: readonly string[]): string;
}

export interface NetnsLab {
  bridgeNs: string;
  hosts: NetnsHost[];
  /** A namespace with only `lo`, on no bridge: what "another network" looks like. */
  isolated(): NetnsHost;
  /** Kills what was spawned in the lab and deletes every namespace of it. */
  close(): Promise<void>;
}

/** Why namespace tests cannot run here, or undefined when they can (only non-root skips). */
export function netnsSkipReason(): string | false {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root, so these tests run there)';
  return false;
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes `larder-<pid>-*` namespaces whose process is gone (earlier crashed runs). */
export function cleanLeftoverNamespaces(): string[] {
  const removed: string[] = [];
  for (const line of ip(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    ip(['netns', 'del', name]);
    removed.push(name);
  }
  return removed;
}

let labCount = 0;

export async function createNetnsLab(n: number): Promise<NetnsLab> {
  cleanLeftoverNamespaces();
  const lab = ++labCount;
  const base = `${PREFIX}${process.pid}-${lab}`;
  const subnet = `10.77.${lab % 250}`;
  const created: string[] = [];
  const children = new Set<ChildProcess>();
  const makeNs = (name: string): void => {
    ip(['netns', 'add', name]);
    created.push(name);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
  };
  const host = (ns: string, address: string): NetnsHost => ({
    ns,
    address,
    spawn(cmd, args, opts = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    run(cmd, args) {
      return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    },
  });
  const close = async (): Promise<void> => {
    await Promise.all(
      [...children].map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await exited;
      }),
    );
    for (const name of created.reverse()) {
      try {
        ip(['netns', 'del', name]);
      } catch {
        // already gone
      }
    }
    created.length = 0;
  };
  try {
    const bridgeNs = `${base}-br`;
    makeNs(bridgeNs);
    ip(['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    ip(['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    const hosts: NetnsHost[] = [];
    for (let i = 0; i < n; i++) {
      const ns = `${base}-${i}`;
      makeNs(ns);
      const address = `${subnet}.${i + 1}`;
      // Both ends are made inside our namespaces: the root namespace never holds them.
      ip(['-n', bridgeNs, 'link', 'add', `h${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', bridgeNs, 'link', 'set', `h${i}`, 'master', 'br0', 'up']);
      ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'multicast', 'on', 'up']);
      ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
      hosts.push(host(ns, address));
    }
    let isolatedHost: NetnsHost | undefined;
    return {
      bridgeNs,
      hosts,
      isolated() {
        if (!isolatedHost) {
          const ns = `${base}-iso`;
          makeNs(ns);
          isolatedHost = host(ns, '127.0.0.1');
        }
        return isolatedHost;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Lines a child prints on stdout, one callback per complete line. */
export function onLines(child: ChildProcess, fn: (line: string) => void): void {
  let buf = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      fn(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}
