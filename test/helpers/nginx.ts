/**
 * nginx as the load balancer in front of several daemons (tests only): a
 * config generated in a temp dir, run in the foreground (`daemon off`) on a
 * free loopback port, round-robin over the given 127.0.0.1 ports, without
 * buffering (clients see the daemons' streaming, and a daemon's failed
 * transfer as a failed transfer).
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './daemon.js';
import { freePorts } from './peers.js';
import { waitFor } from './wait.js';

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

export async function startNginx(backends: number[]): Promise<Nginx> {
  const dir = await tempDir('larder-nginx-');
  await mkdir(join(dir, 'tmp'));
  const [port] = await freePorts(1);
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/tmp/${t};`).join('\n');
  const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
${temps}
  upstream larder {
${backends.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://larder;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_next_upstream off;
      proxy_read_timeout 120s;
    }
  }
}
`;
  const file = join(dir, 'nginx.conf');
  await writeFile(file, conf);
  const child = spawn('nginx', ['-e', join(dir, 'error.log'), '-p', dir, '-c', file], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode})`);
      return (await fetch(`${url}/healthz`).catch(() => undefined)) !== undefined;
    },
    10_000,
    'nginx to listen',
  );
  return {
    url,
    async stop() {
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM'));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
