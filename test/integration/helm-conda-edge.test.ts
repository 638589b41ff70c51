/**
 * Helm and Conda through a chain of three daemons (root → region → edge)
 * whose region and edge upstreams are dead ports (no fallback): the edge's
 * index.yaml points at the edge, and a chart on a second host, a conda
 * repodata.json and a package all arrive byte for byte through the parents,
 * each fetched upstream once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { buildPackage, repodata } from '../helpers/conda/channel.js';
import { type ChainDaemon, startNode } from '../helpers/edge-chain.js';
import { buildChart, indexYaml } from '../helpers/helm/charts.js';
import { StaticHost } from '../helpers/helm/static-host.js';

const DEAD = 'http://127.0.0.1:9';
const chart = buildChart('edgy', '0.3.0');
const far = buildChart('far', '1.0.0');
const pkg = buildPackage('linux-64', 'edgepkg', '1.0', '.conda');

const up = new StaticHost();
const other = new StaticHost();
const nodes: ChainDaemon[] = [];

before(async () => {
  await up.start();
  await other.start();
  up.set(
    '/charts/index.yaml',
    indexYaml([
      { chart, url: chart.file },
      { chart: far, url: `${other.url}/pool/${far.file}` },
    ]),
  );
  up.set(`/charts/${chart.file}`, chart.tgz);
  other.set(`/pool/${far.file}`, far.tgz);
  up.set('/forge/linux-64/repodata.json', repodata('linux-64', [pkg]), 'application/json');
  up.set(`/forge/linux-64/${pkg.file}`, pkg.body);
  const remotes = (live: boolean) => ({
    remotes: {
      charts: { type: 'helm' as const, url: live ? `${up.url}/charts/` : `${DEAD}/charts/` },
      forge: { type: 'conda' as const, url: live ? `${up.url}/forge/` : `${DEAD}/forge/` },
    },
  });
  const root = await startNode(remotes(true));
  nodes.push(root);
  const region = await startNode(remotes(false), { url: root.d.url, token: root.token });
  nodes.push(region);
  nodes.push(await startNode(remotes(false), { url: region.d.url, token: region.token }));
});

after(async () => {
  for (const n of nodes.reverse()) await n.d.close();
  await up.stop();
  await other.stop();
});

test('helm and conda through root → region → edge', async () => {
  const edge = nodes.at(-1)!;
  const index = parse(await (await fetch(`${edge.d.url}/helm/charts/index.yaml`)).text()) as {
    entries: Record<string, Array<{ urls: string[] }>>;
  };
  for (const [name, c] of [
    ['edgy', chart],
    ['far', far],
  ] as const) {
    const url = index.entries[name]![0]!.urls[0]!;
    assert.ok(url.startsWith(`${edge.d.url}/helm/charts/charts/`), url);
    const r = await fetch(url);
    assert.equal(r.status, 200, url);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(c.tgz), `${name}: byte for byte`);
  }
  const doc = await fetch(`${edge.d.url}/conda/forge/linux-64/repodata.json`);
  assert.equal(await doc.text(), repodata('linux-64', [pkg]));
  const p = await fetch(`${edge.d.url}/conda/forge/linux-64/${pkg.file}`);
  assert.equal(p.status, 200);
  assert.ok(Buffer.from(await p.arrayBuffer()).equals(pkg.body));
  assert.equal(up.count(`/charts/${chart.file}`), 1);
  assert.equal(other.count(`/pool/${far.file}`), 1);
  assert.equal(up.count(`/forge/linux-64/${pkg.file}`), 1);
});
