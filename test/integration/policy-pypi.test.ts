/**
 * The supply-chain policy with real pip: versions uploaded "now", "2 days
 * ago" and "a month ago" (PEP 700 `upload-time`) under `minAge: 7d`, and a
 * MAL- OSV record for one version of another project. An HTML-only upstream
 * has no upload times: the age gate cannot apply there.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminClient, adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { PypiUpstream } from '../helpers/pypi/index-server.js';
import { Venv } from '../helpers/pypi/pip.js';
import { buildWheel } from '../helpers/pypi/wheels.js';

const DAY = 86_400_000;
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();
const PIP_ACCEPT = 'application/vnd.pypi.simple.v1+json';

const foo1 = buildWheel({ name: 'foo', version: '1.0' });
const foo2 = buildWheel({ name: 'foo', version: '2.0' });
const foo3 = buildWheel({ name: 'foo', version: '3.0' });
const bar1 = buildWheel({ name: 'bar', version: '1.0' });
const bar11 = buildWheel({ name: 'bar', version: '1.1' });

describe('policy on pypi with pip', () => {
  let up: PypiUpstream;
  let daemon: TestDaemon;
  let venv: Venv;
  let work: string;
  let runs = 0;

  before(async () => {
    work = await tempDir('larder-policy-pip-');
    const osv = join(work, 'osv');
    await mkdir(osv, { recursive: true });
    await writeFile(
      join(osv, 'MAL-2026-0002.json'),
      JSON.stringify({
        id: 'MAL-2026-0002',
        summary: 'Malicious code in bar (PyPI)',
        affected: [{ package: { ecosystem: 'PyPI', name: 'bar' }, versions: ['1.1'] }],
      }),
    );
    up = await PypiUpstream.start({
      foo: [
        { wheel: foo1, uploadTime: ago(30 * DAY) },
        { wheel: foo2, uploadTime: ago(2 * DAY) },
        { wheel: foo3, uploadTime: ago(0) },
      ],
      bar: [
        { wheel: bar1, uploadTime: ago(60 * DAY) },
        { wheel: bar11, uploadTime: ago(40 * DAY) },
      ],
    });
    daemon = await startTestDaemon({
      remotes: {
        pyjson: { type: 'pypi', url: `${up.indexUrl}/simple/`, filesUrl: `${up.filesUrl}/` },
        pyhtml: { type: 'pypi', url: `${up.indexUrl}/static/simple/` },
      },
      pypi: { default: 'pyjson' },
      policy: { minAge: '7d', blocklist: { osv } },
    });
    venv = await Venv.create(join(work, 'venv'));
  });

  after(async () => {
    await daemon?.close();
    await up?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const index = (remote = 'pyjson'): string => `${daemon.url}/pypi/${remote}/simple/`;
  const install = (spec: string, remote?: string) =>
    venv.pip(['install', '--index-url', index(remote), '--target', join(work, `t-${++runs}`), spec]);

  it('leaves held-back files out of both page forms', async () => {
    const json = (await (await fetch(`${index()}foo/`, { headers: { accept: PIP_ACCEPT } })).json()) as {
      files: Array<{ filename: string }>;
    };
    assert.deepEqual(
      json.files.map((f) => f.filename),
      [foo1.filename],
    );
    const html = await (await fetch(`${index()}foo/`, { headers: { accept: 'text/html' } })).text();
    assert.match(html, new RegExp(foo1.filename.replace(/\./g, '\\.')));
    assert.doesNotMatch(html, /foo-2\.0|foo-3\.0/);
  });

  it('pip install foo gets the month-old version', async () => {
    const r = await install('foo');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Successfully installed foo-1\.0\b/);
  });

  it('pip install and download of a young version fail, and the file request is refused naming the policy', async () => {
    const r = await install('foo==3.0');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No matching distribution found for foo==3\.0/);
    const d = await venv.pip(['download', '--no-deps', '--index-url', index(), '-d', join(work, 'dl'), 'foo==2.0']);
    assert.notEqual(d.code, 0);
    const f = await fetch(`${daemon.url}/pypi/pyjson/files/foo/${foo3.filename}`);
    assert.equal(f.status, 403);
    const body = await f.text();
    assert.match(body, /foo@3\.0 is held back by the Larder policy minAge 7d: published .*, allowed from /);
    const dir = await readdir(join(work, 'dl')).catch(() => [] as string[]);
    assert.deepEqual(dir, []);
  });

  it('a direct file URL given to pip is refused with the policy sentence in its log', async () => {
    const r = await venv.pip(['install', '--target', join(work, `t-${++runs}`), `${daemon.url}/pypi/pyjson/files/foo/${foo2.filename}`]);
    assert.notEqual(r.code, 0);
    assert.match(`${r.stdout}${r.stderr}`, /403/);
  });

  it('blocks the MAL- version, other versions install', async () => {
    const ok = await install('bar');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Successfully installed bar-1\.0\b/);
    const bad = await install('bar==1.1');
    assert.notEqual(bad.code, 0);
    const f = await fetch(`${daemon.url}/pypi/pyjson/files/bar/${bar11.filename}`);
    assert.equal(f.status, 403);
    assert.match(await f.text(), /bar@1\.1 is blocked by the Larder policy blocklist: MAL-2026-0002/);
  });

  it('larder policy explain answers for pypi references; a pin written pypi:<name>==<version> counts', async () => {
    const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
    const explain = (ref: string) =>
      admin.ok<{ verdict: string; because?: string; until?: string; osv?: { id: string } }>(
        'GET',
        `/policy/explain?ref=${encodeURIComponent(ref)}`,
      );
    const held = await explain('pypi:foo==3.0');
    assert.equal(held.verdict, 'held');
    assert.ok(held.until && Date.parse(held.until) > Date.now(), JSON.stringify(held));
    assert.equal((await explain('pypi:bar==1.1')).osv?.id, 'MAL-2026-0002');
    assert.equal((await explain('pypi:foo==1.0')).because, 'old-enough');
    await admin.ok('POST', '/pins', { ref: 'pypi:foo==2.0' });
    assert.equal((await explain('pypi:foo==2.0')).because, 'pinned');
  });

  it('an HTML-only upstream has no upload times: the age gate cannot apply, the blocklist still does', async () => {
    const html = await (await fetch(`${index('pyhtml')}foo/`, { headers: { accept: 'text/html' } })).text();
    assert.match(html, /foo-3\.0/);
    const bar = await (await fetch(`${index('pyhtml')}bar/`, { headers: { accept: 'text/html' } })).text();
    assert.match(bar, /bar-1\.0-/);
    assert.doesNotMatch(bar, /bar-1\.1-/);
  });
});
