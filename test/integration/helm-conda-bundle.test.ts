/**
 * Air-gap bundles of Helm and Conda content: exported from a daemon that
 * fetched them (references and key prefixes), imported into a daemon whose
 * upstreams are dead ports; there the index points at the importing daemon,
 * and charts, repodata and packages are served from the cache.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import type { ImportReport } from '../../daemon/admin/contract.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { buildPackage, repodata } from '../helpers/conda/channel.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { buildChart, indexYaml } from '../helpers/helm/charts.js';
import { StaticHost } from '../helpers/helm/static-host.js';

const DEAD = 'http://127.0.0.1:9';
const chart = buildChart('boxed', '1.0.0');
const pkg = buildPackage('noarch', 'boxed', '1.0', '.conda');
const up = new StaticHost();
let source: TestDaemon;
let site: TestDaemon;

const remotes = (base: string) => ({
  remotes: { charts: { type: 'helm' as const, url: `${base}/charts/` }, forge: { type: 'conda' as const, url: `${base}/forge/` } },
});

before(async () => {
  await up.start();
  up.set('/charts/index.yaml', indexYaml([{ chart, url: chart.file }]));
  up.set(`/charts/${chart.file}`, chart.tgz);
  up.set('/forge/noarch/repodata.json', repodata('noarch', [pkg]), 'application/json');
  up.set(`/forge/noarch/${pkg.file}`, pkg.body);
  source = await startTestDaemon(remotes(up.url));
  site = await startTestDaemon(remotes(DEAD));
});

after(async () => {
  await source?.close();
  await site?.close();
  await up.stop();
});

const admin = async (d: TestDaemon, path: string, body: string | ArrayBuffer, type: string): Promise<Response> =>
  fetch(`${d.url}/_/api/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await adminToken(d.dataDir)}`, 'content-type': type },
    body,
  });

test('a bundle of helm: and conda: references carries them to a daemon without upstreams', async () => {
  const exported = await admin(
    source,
    '/export',
    JSON.stringify({ refs: ['helm:charts/boxed@1.0.0', `conda:forge/noarch/${pkg.file}`], prefixes: ['conda:forge:doc:'] }),
    'application/json',
  );
  assert.equal(exported.status, 200, await exported.clone().text());
  const bundle = await exported.arrayBuffer();
  const imported = await admin(site, '/import?allowUnsigned=1', bundle, 'application/x-tar');
  assert.equal(imported.status, 200, await imported.clone().text());
  const report = (await imported.json()) as ImportReport;
  assert.deepEqual(report.unknownRemotes, []);
  assert.ok(report.entries.added >= 4, JSON.stringify(report));

  const index = await fetch(`${site.url}/helm/charts/index.yaml`);
  assert.equal(index.status, 200);
  const url = (parse(await index.text()) as { entries: Record<string, Array<{ urls: string[] }>> }).entries.boxed![0]!.urls[0]!;
  assert.equal(url, `${site.url}/helm/charts/charts/boxed/1.0.0/${chart.file}`, "rewritten to the importing daemon's URL");
  for (const [path, body] of [
    [url.slice(site.url.length), chart.tgz],
    [`/conda/forge/noarch/${pkg.file}`, pkg.body],
  ] as const) {
    const r = await fetch(`${site.url}${path}`);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get('x-larder-cache'), 'HIT', path);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(body), path);
  }
  const doc = await fetch(`${site.url}/conda/forge/noarch/repodata.json`);
  assert.equal(doc.status, 200);
  assert.equal(await doc.text(), repodata('noarch', [pkg]));
});
