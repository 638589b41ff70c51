/**
 * Go modules through Larder with Debian's go 1.19: a GOPROXY directory
 * built by the test (upper-case module path included) behind a local HTTP
 * server, `go mod download` / `go mod verify` / `go build`, fall-through to a
 * second proxy, checksum database proxying against a real x/mod sumdb, and
 * stale serving with the upstream down.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { buildSumdbServer, goEnv, runGo, startSumdb, type TestSumdb } from '../helpers/go/go-tool.js';
import { buildModule, goSum, writeProxyDir, type BuiltModule } from '../helpers/go/modules.js';
import { serveProxyDir, type StaticProxy } from '../helpers/go/proxy-server.js';

const SUMDB = 'sum.larder.test';
const upper = buildModule({
  path: 'example.com/Upper/Mod',
  version: 'v1.0.0',
  files: { 'mod.go': 'package mod\n\nconst Name = "Upper"\n' },
});
const lib10 = buildModule({ path: 'example.com/lib', version: 'v1.0.0', files: { 'lib.go': 'package lib\n\nconst Version = "v1.0.0"\n' } });
const lib11 = buildModule({ path: 'example.com/lib', version: 'v1.1.0', files: { 'lib.go': 'package lib\n\nconst Version = "v1.1.0"\n' } });
const checked = buildModule({ path: 'example.com/sumchecked', version: 'v1.0.0', files: { 'c.go': 'package sumchecked\n' } });
const second = buildModule({ path: 'example.com/onlysecond', version: 'v0.1.0', files: { 's.go': 'package onlysecond\n' } });

/** Writes a main module requiring `mods` (with a go.sum for them unless `sum` is false). */
async function writeApp(dir: string, mods: BuiltModule[], main: string | undefined, sum = true): Promise<void> {
  await mkdir(dir, { recursive: true });
  const req = mods.map((m) => `\t${m.path} ${m.version}\n`).join('');
  await writeFile(join(dir, 'go.mod'), `module example.com/app\n\ngo 1.19\n${mods.length ? `\nrequire (\n${req})\n` : ''}`);
  if (sum) await writeFile(join(dir, 'go.sum'), goSum(mods));
  if (main) await writeFile(join(dir, 'main.go'), main);
}

describe('go modules through larder', () => {
  let work: string;
  let proxyA: StaticProxy;
  let proxyB: StaticProxy;
  let sumdb: TestSumdb;
  let daemon: TestDaemon;
  let app: string;
  let home = 0;
  const nextHome = (): string => join(work, `home${++home}`);

  before(async () => {
    work = await tempDir('larder-go-');
    await writeProxyDir(join(work, 'proxyA'), [upper, lib10, lib11, checked]);
    await writeProxyDir(join(work, 'proxyB'), [second]);
    proxyA = await serveProxyDir(join(work, 'proxyA'));
    proxyB = await serveProxyDir(join(work, 'proxyB'));
    sumdb = await startSumdb(await buildSumdbServer(work), join(work, 'proxyA'), SUMDB);
    daemon = await startTestDaemon({
      remotes: { gomain: { type: 'go', url: `${proxyA.url}/`, ttl: '1s', sumdbs: [SUMDB], sumdbUrls: { [SUMDB]: sumdb.url } } },
      go: { default: 'gomain' },
    });
    app = join(work, 'app');
    const main =
      'package main\n\nimport (\n\t"fmt"\n\n\tmod "example.com/Upper/Mod"\n\t"example.com/lib"\n)\n\nfunc main() { fmt.Println(mod.Name, lib.Version) }\n';
    await writeApp(app, [upper, lib11], main);
  });

  after(async () => {
    await daemon?.close();
    await sumdb?.stop();
    await proxyA?.close().catch(() => undefined);
    await proxyB?.close();
    await rm(work, { recursive: true, force: true });
  });

  const get = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${daemon.url}${path}`, init);

  it('go mod download, go mod verify and go build work through Larder, upper-case path included', async () => {
    const h = nextHome();
    const env = goEnv(h, { GOPROXY: `${daemon.url}/go` });
    const dl = await runGo(['mod', 'download'], app, env);
    assert.equal(dl.code, 0, dl.stderr);
    const verify = await runGo(['mod', 'verify'], app, env);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /all modules verified/);
    const build = await runGo(['build', '-o', join(h, 'app'), '.'], app, env);
    assert.equal(build.code, 0, build.stderr);
    const { stdout } = await promisify(execFile)(join(h, 'app'));
    assert.equal(stdout.trim(), 'Upper v1.1.0');
    const cached = join(h, 'modcache', 'cache', 'download', 'example.com', '!upper', '!mod', '@v');
    assert.ok((await readFile(join(cached, 'v1.0.0.zip'))).equals(upper.zip), 'zip is byte-identical');
    assert.ok((await readFile(join(cached, 'v1.0.0.mod'))).equals(upper.mod), 'go.mod is byte-identical');
    assert.equal(proxyA.hit('/example.com/!upper/!mod/@v/v1.0.0.zip'), 1);
  });

  it('a second machine is served from the cache', async () => {
    const env = goEnv(nextHome(), { GOPROXY: `${daemon.url}/go` });
    const dl = await runGo(['mod', 'download'], app, env);
    assert.equal(dl.code, 0, dl.stderr);
    assert.equal(proxyA.hit('/example.com/!upper/!mod/@v/v1.0.0.zip'), 1);
    assert.equal(proxyA.hit('/example.com/lib/@v/v1.1.0.zip'), 1);
    const r = await get('/go/example.com/!upper/!mod/@v/v1.0.0.zip');
    assert.equal(r.headers.get('x-larder-cache'), 'HIT');
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(upper.zip));
  });

  it('answers unknown modules with 404 so GOPROXY falls through to the next proxy', async () => {
    for (const p of [
      '/go/example.com/onlysecond/@v/list',
      '/go/example.com/onlysecond/@v/v0.1.0.info',
      '/go/example.com/onlysecond/@v/v0.1.0.zip',
    ]) {
      const r = await get(p);
      assert.equal(r.status, 404, p);
      assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    }
    const dir = join(work, 'app-second');
    await writeApp(dir, [second], undefined);
    const h = nextHome();
    const env = goEnv(h, { GOPROXY: `${daemon.url}/go,${proxyB.url}` });
    const dl = await runGo(['mod', 'download'], dir, env);
    assert.equal(dl.code, 0, dl.stderr);
    const zip = await readFile(join(h, 'modcache', 'cache', 'download', 'example.com', 'onlysecond', '@v', 'v0.1.0.zip'));
    assert.ok(zip.equals(second.zip));
    assert.ok(proxyB.hit('/example.com/onlysecond/@v/v0.1.0.zip') >= 1);
  });

  it('serves the protocol paths with case encoding, named remotes and one upstream fetch per key', async () => {
    assert.equal(await (await get('/go/example.com/!upper/!mod/@v/list')).text(), 'v1.0.0\n');
    assert.equal(await (await get('/go/gomain/example.com/lib/@v/list')).text(), 'v1.0.0\nv1.1.0\n');
    assert.equal((await get('/go/example.com/Upper/Mod/@v/list')).status, 400, 'upper case is never sent by go');
    assert.equal((await get('/go/example.com/!upper/!mod/@v/v1.0.zip')).status, 404);
    const info = (await (await get('/go/example.com/!upper/!mod/@v/v1.0.0.info')).json()) as { Version: string };
    assert.equal(info.Version, 'v1.0.0');
    const latest = await get('/go/example.com/lib/@latest');
    assert.equal(latest.status, 404);
    assert.equal((await get('/go/example.com/lib/@v/list', { method: 'POST' })).status, 405);
    const zips = await Promise.all(
      Array.from({ length: 10 }, async () => Buffer.from(await (await get('/go/example.com/lib/@v/v1.0.0.zip')).arrayBuffer())),
    );
    for (const z of zips) assert.ok(z.equals(lib10.zip));
    assert.equal(proxyA.hit('/example.com/lib/@v/v1.0.0.zip'), 1);
  });

  it('proxies only configured checksum databases and caches lookups and tiles', async () => {
    assert.equal((await get('/go/sumdb/sum.golang.org/supported')).status, 404);
    assert.equal((await get(`/go/sumdb/${SUMDB}/supported`)).status, 200);
    assert.equal((await get(`/go/gomain/sumdb/${SUMDB}/supported`)).status, 200);
    const dir = join(work, 'app-sum');
    await writeApp(dir, [], undefined, false);
    const lookup = `/lookup/${checked.path}@${checked.version}`;
    for (const round of [1, 2]) {
      const env = goEnv(nextHome(), { GOPROXY: `${daemon.url}/go`, GOSUMDB: sumdb.vkey });
      await rm(join(dir, 'go.sum'), { force: true });
      const got = await runGo(['get', `${checked.path}@${checked.version}`], dir, env);
      assert.equal(got.code, 0, got.stderr);
      const sum = await readFile(join(dir, 'go.sum'), 'utf8');
      assert.ok(sum.includes(`${checked.path} ${checked.version} ${checked.zipHash}`), sum);
      const verify = await runGo(['mod', 'verify'], dir, env);
      assert.equal(verify.code, 0, verify.stderr);
      const hits = await sumdb.hits();
      assert.equal(hits[lookup], 1, `round ${round}: the lookup reached the checksum database once`);
      const tiles = Object.entries(hits).filter(([p]) => p.startsWith('/tile/'));
      assert.ok(tiles.length > 0 && tiles.every(([, n]) => n === 1), `round ${round}: tiles fetched once each: ${JSON.stringify(hits)}`);
    }
  });

  it('serves the warm workload with the upstream down, and unknowns stay 404', async () => {
    await proxyA.close();
    await new Promise((r) => setTimeout(r, 1100));
    const r = await get('/go/example.com/lib/@v/list');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-larder-cache'), 'STALE');
    const unknown = await get('/go/example.com/nothere/@v/list');
    assert.equal(unknown.status, 404, 'an upstream failure for an unknown module is still "not here"');
    assert.equal(unknown.headers.get('x-larder-error'), 'E_UPSTREAM');
    const env = goEnv(nextHome(), { GOPROXY: `${daemon.url}/go` });
    const dl = await runGo(['mod', 'download'], app, env);
    assert.equal(dl.code, 0, dl.stderr);
    const versions = await runGo(['list', '-m', '-versions', 'example.com/lib'], app, env);
    assert.equal(versions.code, 0, versions.stderr);
    assert.equal(versions.stdout.trim(), 'example.com/lib v1.0.0 v1.1.0');
  });
});
