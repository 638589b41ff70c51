/**
 * The release-age cooldown with Debian's `go` command: a GOPROXY directory
 * with versions of one module published a month ago, two days ago and now
 * (`.info` `Time`), under `minAge: 7d`. `go list -m -versions` shows only
 * the old one, `go get mod@latest` picks it, and `go get mod@<young>` stops
 * with Larder's sentence (403: the go command does not fall through to the
 * next GOPROXY entry).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { goEnv, runGo } from '../helpers/go/go-tool.js';
import { buildModule, writeProxyDir } from '../helpers/go/modules.js';
import { serveProxyDir, type StaticProxy } from '../helpers/go/proxy-server.js';

const DAY = 86_400_000;
const MOD = 'example.com/young';
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();
const mods = [
  buildModule({ path: MOD, version: 'v1.0.0', time: ago(30 * DAY), files: { 'y.go': 'package young\n' } }),
  buildModule({ path: MOD, version: 'v1.1.0', time: ago(2 * DAY), files: { 'y.go': 'package young\n' } }),
  buildModule({ path: MOD, version: 'v1.2.0', time: ago(0), files: { 'y.go': 'package young\n' } }),
];

describe('the release-age cooldown with the go command', () => {
  let work: string;
  let proxy: StaticProxy;
  let daemon: TestDaemon;
  let app: string;
  let n = 0;
  const env = (): NodeJS.ProcessEnv => goEnv(join(work, `home${++n}`), { GOPROXY: `${daemon.url}/go,direct`, GOFLAGS: '-mod=mod' });

  before(async () => {
    work = await tempDir('larder-policy-gocmd-');
    await writeProxyDir(join(work, 'proxy'), mods);
    proxy = await serveProxyDir(join(work, 'proxy'));
    daemon = await startTestDaemon({
      remotes: { gomain: { type: 'go', url: `${proxy.url}/` } },
      go: { default: 'gomain' },
      policy: { minAge: '7d' },
    });
    app = join(work, 'app');
    await mkdir(app, { recursive: true });
    await writeFile(join(app, 'go.mod'), 'module example.com/app\n\ngo 1.19\n');
  });

  after(async () => {
    await daemon?.close();
    await proxy?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('go list -m -versions shows only versions older than minAge', async () => {
    const r = await runGo(['list', '-m', '-versions', MOD], app, env());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${MOD} v1.0.0`);
  });

  it('go get @latest picks the newest allowed version', async () => {
    const r = await runGo(['get', `${MOD}@latest`], app, env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(await readFile(join(app, 'go.mod'), 'utf8'), /example\.com\/young v1\.0\.0/);
  });

  it('go get of a young version stops with the policy sentence, not falling through to direct', async () => {
    const r = await runGo(['get', `${MOD}@v1.2.0`], app, env());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /example\.com\/young@v1\.2\.0 is held back by the Larder policy minAge 7d/);
  });
});
