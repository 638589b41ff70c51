/**
 * The nginx of the cluster benchmark (bench/cluster.ts): one Debian nginx
 * (master and `worker_processes auto`) with three servers on free loopback
 * ports: a load balancer in front of one Larder node, one in front of three
 * (keep-alive connections to the nodes, no buffering, like
 * test/helpers/nginx.ts), and a static file server for the floor (what the
 * load generator and nginx can do with no Larder behind them). Also: CPU
 * seconds of a set of processes (nginx's workers included) over a window.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NGINX_BIN } from './nginx.js';
import { cpuSeconds, freePort, stopChild, track, waitForHttp } from './proc.js';

export interface ClusterLb {
  /** Origins (`http://127.0.0.1:<port>`) of the balancer over one node, over three, and of the static server. */
  one: string;
  three: string;
  floor: string;
  child: ChildProcess;
  /** The master and its workers. */
  pids(): number[];
  stop(): Promise<void>;
}

function upstream(name: string, ports: number[]): string {
  return `  upstream ${name} {\n${ports.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n')}\n    keepalive 128;\n  }`;
}

function proxy(port: number, name: string): string {
  return `  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://${name};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_next_upstream off;
      proxy_read_timeout 300s;
    }
  }`;
}

/** Starts nginx; `staticRoot` is served as is by the floor server. */
export async function startClusterLb(dir: string, one: number[], three: number[], staticRoot: string): Promise<ClusterLb> {
  await mkdir(dir, { recursive: true });
  const [p1, p3, pf] = [await freePort(), await freePort(), await freePort()];
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`).join('\n');
  const asRoot = process.getuid?.() === 0 ? 'user root;\n' : '';
  const conf = `${asRoot}daemon off;
master_process on;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000;
${temps}
${upstream('one', one)}
${upstream('three', three)}
${proxy(p1, 'one')}
${proxy(p3, 'three')}
  server {
    listen 127.0.0.1:${pf};
    root ${staticRoot};
    default_type application/json;
  }
}
`;
  const file = join(dir, 'nginx.conf');
  await writeFile(file, conf);
  let out = '';
  const child = track(spawn(NGINX_BIN, ['-e', join(dir, 'error.log'), '-p', dir, '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] }));
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const floor = `http://127.0.0.1:${pf}`;
  await waitForHttp(`${floor}/`, child, () => out, 10_000).catch(() => undefined); // a 403/404 on `/` still means it listens
  const pids = (): number[] => {
    const pid = child.pid ?? 0;
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...kids];
  };
  return { one: `http://127.0.0.1:${p1}`, three: `http://127.0.0.1:${p3}`, floor, child, pids, stop: () => stopChild(child) };
}

/** CPU seconds of `pids` from now until the returned function is called. */
export function cpuWindow(pids: number[]): () => number {
  const sum = (): number => pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const start = sum();
  return () => sum() - start;
}
