/**
 * Helm chart repositories through Larder at the HTTP level (no helm binary
 * on these machines), against a generated repository split over two hosts:
 * the index with relative and absolute chart URLs rewritten to Larder, a
 * client-shaped flow (index, then every chart it names, then their `.prov`
 * as `helm pull --verify` does), digest verification (a corrupt chart
 * refused and never committed), charts without a digest, revalidation of
 * the index, and stale serving with both hosts stopped.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { buildChart, indexYaml } from '../helpers/helm/charts.js';
import { StaticHost } from '../helpers/helm/static-host.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface IndexEntry {
  name: string;
  version: string;
  urls: string[];
  digest?: string;
  created?: string;
}
interface Index {
  apiVersion: string;
  generated: string;
  entries: Record<string, IndexEntry[]>;
}

const web1 = buildChart('web', '1.0.0');
const web2 = buildChart('web', '1.1.0');
const db = buildChart('db', '2.0.0');
const plain = buildChart('nodigest', '0.1.0');
const bad = buildChart('bad', '1.0.0');
const late = buildChart('web', '1.2.0');

describe('helm chart repository over HTTP', () => {
  const repo = new StaticHost();
  const other = new StaticHost();
  let daemon: TestDaemon;
  let items: Parameters<typeof indexYaml>[0];

  before(async () => {
    await repo.start();
    await other.start();
    items = [
      { chart: web1, url: `charts/${web1.file}` },
      { chart: web2, url: `${repo.url}/charts/${web2.file}` },
      { chart: db, url: `${other.url}/pool/${db.file}` },
      { chart: plain, url: plain.file, digest: false },
      { chart: bad, url: `${other.url}/pool/${bad.file}` },
    ];
    repo.set('/index.yaml', indexYaml(items), 'application/x-yaml');
    for (const c of [web1, web2]) repo.set(`/charts/${c.file}`, c.tgz, 'application/gzip');
    repo.set(`/charts/${web1.file}.prov`, web1.prov, 'application/pgp-signature');
    repo.set(`/${plain.file}`, plain.tgz, 'application/gzip');
    for (const c of [db, bad]) other.set(`/pool/${c.file}`, c.tgz, 'application/gzip');
    other.set(`/pool/${db.file}.prov`, db.prov, 'application/pgp-signature');
    daemon = await startTestDaemon({
      remotes: { charts: { type: 'helm', url: `${repo.url}/`, ttl: '1h' }, live: { type: 'helm', url: `${repo.url}/`, ttl: 0 } },
    });
  });

  after(async () => {
    await daemon?.close();
    await repo.stop();
    await other.stop();
  });

  const get = (url: string): Promise<Response> => fetch(url.startsWith('http') ? url : `${daemon.url}${url}`);
  const index = async (remote: string): Promise<{ res: Response; doc: Index }> => {
    const res = await get(`/helm/${remote}/index.yaml`);
    assert.equal(res.status, 200);
    return { res, doc: parse(await res.text()) as Index };
  };

  it('rewrites every chart URL to Larder: relative, absolute, and on a second host', async () => {
    const { res, doc } = await index('charts');
    assert.match(res.headers.get('content-type') ?? '', /yaml/);
    assert.equal(doc.generated, '2026-01-01T00:00:00Z', 'other fields kept');
    const urls = Object.values(doc.entries).flatMap((vs) => vs.flatMap((v) => v.urls));
    assert.equal(urls.length, items.length);
    for (const u of urls) assert.ok(u.startsWith(`${daemon.url}/helm/charts/charts/`), u);
    assert.deepEqual(
      doc.entries.web!.map((v) => v.urls[0]),
      [`${daemon.url}/helm/charts/charts/web/1.0.0/${web1.file}`, `${daemon.url}/helm/charts/charts/web/1.1.0/${web2.file}`],
    );
    assert.equal(doc.entries.db![0]!.digest, db.sha256, 'digests kept');
    // `helm repo add` also asks for the repository URL with a trailing slash + index.yaml only; the bare mount answers the index too.
    assert.equal((await get('/helm/charts/')).status, 200);
  });

  it('client-shaped flow: every chart the index names, then its .prov; a second pass is all hits', async () => {
    const { doc } = await index('charts');
    const built = new Map([web1, web2, db, plain].map((c) => [`${c.name}@${c.version}`, c]));
    for (const pass of ['cold', 'warm']) {
      for (const [name, versions] of Object.entries(doc.entries)) {
        for (const v of versions) {
          if (name === 'bad') continue;
          const c = built.get(`${name}@${v.version}`)!;
          const res = await get(v.urls[0]!);
          assert.equal(res.status, 200, `${pass} ${v.urls[0]}`);
          const body = Buffer.from(await res.arrayBuffer());
          assert.ok(body.equals(c.tgz), `${pass} ${c.file}: the chart's bytes`);
          if (v.digest) assert.equal(sha256(body), v.digest);
          assert.equal(res.headers.get('x-larder-cache'), pass === 'cold' ? 'MISS' : 'HIT', `${pass} ${c.file}`);
        }
      }
    }
    assert.equal(repo.count(`/charts/${web1.file}`), 1);
    assert.equal(other.count(`/pool/${db.file}`), 1, 'a chart on the second host, fetched once');
    assert.equal(repo.count(`/${plain.file}`), 1, 'a chart without a digest, stored under the sha256 Larder computed');
    assert.equal(repo.count('/index.yaml'), 1, 'the index, fetched once within its TTL');
  });

  it('passes .prov files through and caches them beside the chart', async () => {
    for (const [c, upstream, host] of [
      [web1, `/charts/${web1.file}.prov`, repo],
      [db, `/pool/${db.file}.prov`, other],
    ] as const) {
      const url = `/helm/charts/charts/${c.name}/${c.version}/${c.file}.prov`;
      for (const state of ['MISS', 'HIT']) {
        const res = await get(url);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-larder-cache'), state);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(c.prov));
      }
      assert.equal(host.count(upstream), 1);
    }
    assert.equal((await get(`/helm/charts/charts/web/1.1.0/${web2.file}.prov`)).status, 404, 'no provenance upstream: 404');
  });

  it('refuses a chart that does not match its digest and never commits it', async () => {
    const path = `/pool/${bad.file}`;
    const url = `/helm/charts/charts/bad/1.0.0/${bad.file}`;
    other.setCorrupt(path, true);
    for (let i = 1; i <= 2; i++) {
      const res = await get(url);
      const body = await res.arrayBuffer().then(
        (b) => Buffer.from(b),
        () => undefined,
      );
      assert.ok(res.status >= 400 || body === undefined, `a corrupt chart must not be a clean ${res.status}`);
      assert.equal(other.count(path), i, 'fetched again: nothing was committed');
    }
    other.setCorrupt(path, false);
    const good = await get(url);
    assert.equal(good.status, 200);
    assert.ok(Buffer.from(await good.arrayBuffer()).equals(bad.tgz));
    assert.equal((await get(url)).headers.get('x-larder-cache'), 'HIT');
  });

  it('answers a chart the index does not list with 404, and never asks the upstream for it', async () => {
    const before = repo.count('/charts/web-9.9.9.tgz');
    assert.equal((await get('/helm/charts/charts/web/9.9.9/web-9.9.9.tgz')).status, 404);
    assert.equal(repo.count('/charts/web-9.9.9.tgz'), before);
    assert.equal((await get('/helm/nope/index.yaml')).status, 404, 'an unknown remote');
  });

  it('revalidates the index after its TTL and shows new versions', async () => {
    let r = await index('live');
    assert.equal(r.res.headers.get('x-larder-cache'), 'MISS');
    const before = repo.notModified.get('/index.yaml') ?? 0;
    r = await index('live');
    assert.equal(r.res.headers.get('x-larder-cache'), 'REVALIDATED');
    assert.equal(repo.notModified.get('/index.yaml'), before + 1, 'a conditional request answered 304');
    repo.set('/index.yaml', indexYaml([...items, { chart: late, url: `charts/${late.file}` }]), 'application/x-yaml');
    repo.set(`/charts/${late.file}`, late.tgz, 'application/gzip');
    r = await index('live');
    const urls = r.doc.entries.web!.map((v) => v.urls[0]);
    assert.ok(urls.includes(`${daemon.url}/helm/live/charts/web/1.2.0/${late.file}`), 'the new version, rewritten');
    const res = await get(`/helm/live/charts/web/1.2.0/${late.file}`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(late.tgz));
  });

  it('with both hosts stopped: the index is served STALE and cached charts and .prov files are hits', async () => {
    const warm = await index('live');
    const dbUrl = `/helm/live/charts/db/2.0.0/${db.file}`;
    assert.equal((await get(dbUrl)).status, 200);
    assert.equal((await get(`${dbUrl}.prov`)).status, 200);
    await repo.stop();
    await other.stop();
    const { res, doc } = await index('live');
    assert.equal(res.headers.get('x-larder-cache'), 'STALE');
    assert.deepEqual(doc, warm.doc);
    for (const url of [dbUrl, `${dbUrl}.prov`, `/helm/charts/charts/web/1.0.0/${web1.file}`]) {
      const r = await get(url);
      assert.equal(r.status, 200, url);
      assert.equal(r.headers.get('x-larder-cache'), 'HIT', url);
    }
    const missing = await get(`/helm/live/charts/web/1.1.0/${web2.file}`);
    assert.ok(missing.status >= 500 && missing.status < 600, `an uncached chart with the upstream down: ${missing.status}`);
  });
});
