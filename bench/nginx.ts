/**
 * The warm `npm ci` floor: Debian's nginx serving the fixture's packuments
 * and tarballs as static files (from the page cache: every file is read once
 * before anything is measured), with tarball URLs in the packuments pointing
 * at nginx itself. Its own configuration, pid file, logs and temp paths live
 * in a temp directory; it listens on a free loopback port.
 *
 * A packument and the tarballs under it share a URL prefix (`/name` and
 * `/name/-/name-1.0.0.tgz`), so a packument is stored as
 * `<root>/<name>/packument.json` and served for `/<name>` (`%2f` in a scoped
 * name is decoded by nginx) as `application/json`, which npm accepts for
 * both the full and the abbreviated request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BASE_PLACEHOLDER, type RegistryFixture } from '../test/helpers/npm-fixture/types.js';
import { freePort, stopChild, track, waitForHttp } from './proc.js';

/** A running nginx. */
export interface StaticRegistry {
  /** Registry URL for npm (trailing slash). */
  registry: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export const NGINX_BIN = '/usr/sbin/nginx';

function config(dir: string, root: string, port: number): string {
  const asRoot = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${asRoot}daemon off;
master_process on;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 100000;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  types { application/octet-stream tgz; }
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location ~ \\.tgz$ { }
    location / {
      default_type application/json;
      try_files $uri/packument.json =404;
    }
  }
}
`;
}

/** Hard link (shares the page cache with the fixture's file), or a copy across file systems. */
async function place(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await link(from, to).catch(() => copyFile(from, to));
}

/** Writes the static tree for `origin` under `root` and reads every file once (page cache). */
async function writeTree(fixture: RegistryFixture, root: string, origin: string): Promise<void> {
  for (const p of fixture.packages) {
    const doc = (await readFile(p.packumentFile, 'utf8')).split(BASE_PLACEHOLDER).join(origin);
    await mkdir(join(root, p.name), { recursive: true });
    await writeFile(join(root, p.name, 'packument.json'), doc);
    for (const t of p.tarballs) await place(t.file, join(root, t.urlPath));
  }
  for (const p of fixture.packages) {
    await readFile(join(root, p.name, 'packument.json'));
    for (const t of p.tarballs) await readFile(join(root, t.urlPath));
  }
}

function errorLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8');
  } catch {
    return '';
  }
}

/** Starts nginx over the fixture in `workDir/nginx-<id>`; `stop()` removes it again. */
export async function startNginx(fixture: RegistryFixture, workDir: string): Promise<StaticRegistry> {
  const dir = join(workDir, `nginx-${Date.now().toString(36)}`);
  const root = join(dir, 'root');
  await mkdir(root, { recursive: true });
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  await writeTree(fixture, root, origin);
  await writeFile(join(dir, 'nginx.conf'), config(dir, root, port));
  const child = track(
    spawn(NGINX_BIN, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let out = '';
  const add = (c: Buffer): void => {
    out = (out + c.toString()).slice(-4000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  const stop = async (): Promise<void> => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  const first = fixture.packages[0]?.name ?? 'x';
  try {
    await waitForHttp(`${origin}/${first.replace('/', '%2f')}`, child, () => out + errorLog(dir));
  } catch (err) {
    await stop();
    throw err;
  }
  return { registry: `${origin}/`, child, stop };
}
