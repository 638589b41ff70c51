/**
 * `helm:<remote>/<chart>@<version>` and `conda:<remote>/<subdir>/<file>`
 * references through the admin API: a pre-warm job stores the chart or
 * package (verified) so a client's first request is a HIT, a pin holds
 * them, a reference the index does not list fails with E_NOT_FOUND, and
 * scrub repairs a damaged pinned chart and package by fetching them again
 * through the adapter.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Job, Pin, ScrubStatus } from '../../daemon/admin/contract.js';
import { adminClient, adminToken, blobPath, type AdminClient } from '../helpers/admin-e2e.js';
import { buildPackage, repodata } from '../helpers/conda/channel.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { buildChart, indexYaml } from '../helpers/helm/charts.js';
import { StaticHost } from '../helpers/helm/static-host.js';

const web = buildChart('web', '1.0.0');
const db = buildChart('db', '2.0.0');
const zlib = buildPackage('linux-64', 'zlib', '1.3.1', '.conda');
const py = buildPackage('noarch', 'purepy', '1.0', '.tar.bz2');
const extra = buildPackage('linux-64', 'extra', '3.0', '.conda');
const other = buildPackage('linux-64', 'other', '1.0', '.tar.bz2');

describe('helm: and conda: references (pre-warm, pins, scrub)', () => {
  const up = new StaticHost();
  let d: TestDaemon;
  let admin: AdminClient;

  before(async () => {
    await up.start();
    up.set(
      '/charts/index.yaml',
      indexYaml([
        { chart: web, url: web.file },
        { chart: db, url: `${up.url}/charts/${db.file}` },
      ]),
    );
    for (const c of [web, db]) up.set(`/charts/${c.file}`, c.tgz);
    up.set('/forge/linux-64/repodata.json', repodata('linux-64', [zlib, extra, other]));
    up.set('/forge/noarch/repodata.json', repodata('noarch', [py]));
    for (const p of [zlib, py, extra, other]) up.set(`/forge/${p.subdir}/${p.file}`, p.body);
    d = await startTestDaemon({
      remotes: { charts: { type: 'helm', url: `${up.url}/charts/` }, forge: { type: 'conda', url: `${up.url}/forge/` } },
    });
    admin = adminClient(d.url, await adminToken(d.dataDir));
  });

  after(async () => {
    await d?.close();
    await up.stop();
  });

  it('a pre-warm job stores a chart and a package; the first client request is a HIT', async () => {
    const job = await admin.ok<Job>('POST', '/jobs', { refs: [`helm:charts/web@1.0.0`, `conda:forge/linux-64/${zlib.file}`] });
    const done = await admin.waitJob(job.id);
    assert.equal(done.state, 'done', JSON.stringify(done.items));
    for (const [path, body, upstream] of [
      [`/helm/charts/charts/web/1.0.0/${web.file}`, web.tgz, `/charts/${web.file}`],
      [`/conda/forge/linux-64/${zlib.file}`, zlib.body, `/forge/linux-64/${zlib.file}`],
    ] as const) {
      const r = await fetch(`${d.url}${path}`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-larder-cache'), 'HIT', path);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(body));
      assert.equal(up.count(upstream), 1, `${upstream}: fetched once, by the job`);
    }
  });

  it('pins hold a chart and a package; unlisted references fail with E_NOT_FOUND', async () => {
    for (const ref of [`helm:charts/db@2.0.0`, `conda:forge/noarch/${py.file}`]) {
      const pin = await admin.call<Pin>('POST', '/pins', { ref });
      assert.equal(pin.status, 201, JSON.stringify(pin.body));
      assert.equal(pin.body.status, 'ok', JSON.stringify(pin.body));
      assert.equal(pin.body.mutable, false);
    }
    const keys = (await admin.entries()).filter((e) => e.pinned).map((e) => e.key);
    assert.ok(keys.includes(`helm:charts:chart:db/2.0.0/${db.file}`), JSON.stringify(keys));
    assert.ok(keys.includes(`conda:forge:pkg:noarch/${py.file}`), JSON.stringify(keys));
    for (const ref of ['helm:charts/db@9.9.9', 'conda:forge/noarch/ghost-1.0-h0_0.conda']) {
      const pin = await admin.call<Pin>('POST', '/pins', { ref });
      assert.equal(pin.body.status, 'error', JSON.stringify(pin.body));
      assert.match(pin.body.error ?? '', /E_NOT_FOUND/);
    }
    assert.equal((await admin.call('POST', '/pins', { ref: 'helm:charts/../x@1' })).status, 400);
  });

  it('an explicit environment file pre-warms its packages, checking each #sha256 against repodata first', async () => {
    const lock = (sha: string): string =>
      [
        '# platform: linux-64',
        '@EXPLICIT',
        `https://conda.anaconda.org/forge/linux-64/${extra.file}#sha256:${extra.record.sha256}`,
        `https://conda.anaconda.org/forge/linux-64/${other.file}#sha256:${sha}`,
        '',
      ].join('\n');
    const failed = await admin.waitJob(
      (await admin.ok<Job>('POST', '/jobs', { files: [{ name: 'conda-linux-64.lock', content: lock('0'.repeat(64)) }] })).id,
    );
    const bad = failed.items.find((i) => i.ref.endsWith(other.file));
    assert.equal(bad?.state, 'failed', JSON.stringify(failed.items));
    assert.match(bad?.error ?? '', /E_INTEGRITY|hash mismatch/);
    assert.equal(up.count(`/forge/linux-64/${other.file}`), 0, 'nothing fetched for a hash mismatch');
    const job = await admin.waitJob(
      (await admin.ok<Job>('POST', '/jobs', { files: [{ name: 'conda-linux-64.lock', content: lock(other.record.sha256) }] })).id,
    );
    assert.equal(job.state, 'done', JSON.stringify(job.items));
    assert.deepEqual(
      job.items.map((i) => i.ref).sort(),
      [`conda:forge/linux-64/${extra.file}`, `conda:forge/linux-64/${other.file}`].sort(),
    );
    for (const p of [extra, other]) {
      const r = await fetch(`${d.url}/conda/forge/linux-64/${p.file}`);
      assert.equal(r.headers.get('x-larder-cache'), 'HIT', p.file);
      assert.equal(up.count(`/forge/linux-64/${p.file}`), 1);
    }
  });

  it('scrub fetches a damaged chart and package again through their adapters', async () => {
    const damaged: Array<[string, Buffer, string]> = [
      [blobPath(d.dataDir, `sha256:${db.sha256}`), db.tgz, `/charts/${db.file}`],
      [blobPath(d.dataDir, `sha256:${py.record.sha256}`), py.body, `/forge/noarch/${py.file}`],
    ];
    const before = damaged.map(([, , u]) => up.count(u));
    for (const [file, good] of damaged) await writeFile(file, Buffer.alloc(good.length, 0x41));
    const res = await admin.call<ScrubStatus>('POST', '/scrub', { now: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.repaired >= 2, JSON.stringify(res.body));
    damaged.forEach(([, , u], i) => {
      assert.equal(up.count(u), before[i]! + 1, `${u}: fetched again`);
    });
    for (const [file, good] of damaged) assert.ok((await readFile(file)).equals(good), `${file}: whole again`);
  });
});
