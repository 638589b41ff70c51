/**
 * Cargo's part of the shared machinery, through the admin API and the real
 * `cargo`: a Cargo.lock pre-warm job verified by each package's `checksum`
 * (a checksum the index disagrees with fetches nothing), a `cargo:` pin,
 * scrub repair of a rotten `.crate`, an air-gap bundle imported into a
 * daemon without upstream, and an edge daemon whose own upstream is dead
 * serving cargo through its parent.
 */
import assert from 'node:assert/strict';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImportReport, Job, Pin, ScrubStatus } from '../../daemon/admin/contract.js';
import { blobPath } from '../helpers/admin-e2e.js';
import { cargoConfig, cargoVersion, runCargo, writeConsumer } from '../helpers/cargo/cargo-tool.js';
import { buildCrate } from '../helpers/cargo/crates.js';
import { CargoRegistry } from '../helpers/cargo/registry.js';
import { tempDir } from '../helpers/daemon.js';
import { api, startNode, type ChainDaemon } from '../helpers/edge-chain.js';

const DEAD = 'http://127.0.0.1:9/index/';
const beta020 = buildCrate({ name: 'beta', version: '0.2.0', lib: 'pub fn base() -> u32 { 40 }\n' });
const beta021 = buildCrate({ name: 'beta', version: '0.2.1', lib: 'compile_error!("yanked");\n', yanked: true });
const alpha = buildCrate({
  name: 'alpha',
  version: '1.0.0',
  deps: [{ name: 'beta', req: '^0.2' }],
  lib: 'pub fn value() -> u32 { beta::base() + 2 }\n',
});
const gamma = buildCrate({ name: 'gamma', version: '1.0.0', lib: 'pub fn g() {}\n' });
const delta = buildCrate({ name: 'delta', version: '3.1.4', lib: 'pub fn d() {}\n' });

async function rot(file: string): Promise<void> {
  const h = await open(file, 'r+');
  try {
    const { size } = await h.stat();
    await h.write(Buffer.alloc(16, 0x5a), 0, 16, Math.floor(size / 2));
  } finally {
    await h.close();
  }
}

const version = await cargoVersion();

describe('cargo pre-warm, pins, scrub, bundles and parents', { skip: version ? false : 'no cargo on PATH' }, () => {
  let work = '';
  let reg: CargoRegistry;
  let root: ChainDaemon;
  const nodes: ChainDaemon[] = [];
  let lock = '';
  const app = (): string => join(work, 'app');

  const runJob = async (n: ChainDaemon, files: Array<{ name: string; content: string }>): Promise<Job> => {
    const started = await api<Job>(n, '/jobs', { method: 'POST', body: { files } });
    for (;;) {
      const job = await api<Job>(n, `/jobs/${started.id}`);
      if (job.state !== 'queued' && job.state !== 'running') return job;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    work = await tempDir('larder-cargo-warm-');
    reg = await CargoRegistry.start([beta020, beta021, alpha, gamma, delta]);
    root = await startNode({ remotes: { crates: { type: 'cargo', url: reg.indexUrl, ttl: 0 } } });
    nodes.push(root);
    await writeConsumer(
      { dir: app(), name: 'app', deps: { alpha: '1' }, lib: 'pub fn v() -> u32 { alpha::value() }\n' },
      cargoConfig(root.d.url),
    );
    const gen = await runCargo(['generate-lockfile'], { cwd: app(), cargoHome: join(work, 'home-gen') });
    assert.equal(gen.code, 0, gen.stderr);
    lock = await readFile(join(app(), 'Cargo.lock'), 'utf8');
  });

  after(async () => {
    for (const n of nodes) await n.d.close();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a Cargo.lock job warms every registry package, verified by its checksum', async () => {
    assert.equal(reg.downloads('alpha', '1.0.0'), 0, 'resolving the lockfile downloads nothing');
    const job = await runJob(root, [{ name: 'Cargo.lock', content: lock }]);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(
      job.items.map((i) => [i.ref, i.state]),
      [
        ['cargo:alpha@1.0.0', 'done'],
        ['cargo:beta@0.2.0', 'done'],
      ],
      'the consumer itself (a path package) is not warmed; the yanked beta 0.2.1 is not locked',
    );
    assert.equal(job.bytes, alpha.body.length + beta020.body.length);
    assert.equal(reg.downloads('alpha', '1.0.0'), 1);
    assert.equal(reg.downloads('beta', '0.2.0'), 1);
  });

  it('a lockfile checksum the index disagrees with fails as E_INTEGRITY and fetches nothing', async () => {
    const wrong = 'ab'.repeat(32);
    const content = `version = 4\n\n[[package]]\nname = "gamma"\nversion = "1.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "${wrong}"\n`;
    const job = await runJob(root, [{ name: 'Cargo.lock', content }]);
    assert.equal(job.state, 'failed');
    assert.match(job.items[0]!.error ?? '', /^E_INTEGRITY: cargo:gamma@1\.0\.0: checksum mismatch/);
    assert.ok(job.items[0]!.error!.includes(gamma.cksum), 'the message names what the index lists');
    assert.equal(reg.downloads('gamma', '1.0.0'), 0);
  });

  it('pins a crate version: config.json, its index file and the .crate', async () => {
    const pin = await api<Pin>(root, '/pins', { method: 'POST', body: { ref: 'cargo:gamma@1.0.0' } });
    assert.equal(pin.status, 'ok', JSON.stringify(pin));
    assert.equal(pin.resolved, '1.0.0');
    assert.equal(pin.items, 3);
    assert.equal(pin.mutable, false);
    assert.equal(reg.downloads('gamma', '1.0.0'), 1);
  });

  it('scrub repairs a rotten .crate from the registry', async () => {
    await rot(blobPath(root.d.dataDir, `sha256:${alpha.cksum}`));
    const status = await api<ScrubStatus>(root, '/scrub', { method: 'POST', body: { now: true } });
    assert.equal(status.corrupt, 1);
    assert.equal(status.repaired, 1);
    assert.equal(reg.downloads('alpha', '1.0.0'), 2, 'fetched again');
    const r = await fetch(`${root.d.url}/cargo/crates/dl/alpha/1.0.0/download`);
    assert.equal(r.headers.get('x-larder-cache'), 'HIT');
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(alpha.body));
  });

  it('an edge whose own upstream is dead serves cargo through its parent', async () => {
    const edge = await startNode({ remotes: { crates: { type: 'cargo', url: DEAD, ttl: 0 } } }, { url: root.d.url, token: root.token });
    nodes.push(edge);
    const dir = join(work, 'via-edge');
    await writeConsumer({ dir, name: 'app', deps: { alpha: '1' }, lib: 'pub fn v() -> u32 { alpha::value() }\n' }, cargoConfig(edge.d.url));
    await writeFile(join(dir, 'Cargo.lock'), lock);
    const before = reg.downloads('alpha', '1.0.0');
    const fetched = await runCargo(['fetch', '--locked'], { cwd: dir, cargoHome: join(work, 'home-edge') });
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(reg.downloads('alpha', '1.0.0'), before, 'the parent had it cached');
    const r = await fetch(`${edge.d.url}/cargo/crates/dl/beta/0.2.0/download`);
    assert.equal(r.headers.get('x-larder-cache'), 'HIT', 'the edge stored what it fetched through its parent');
  });

  it('a bundle of the Cargo.lock imported into a daemon without upstream serves cargo fetch and build --offline', async () => {
    const exported = await fetch(`${root.d.url}/_/api/v1/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${root.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ files: [{ name: 'Cargo.lock', content: lock }] }),
    });
    assert.equal(exported.status, 200, await exported.clone().text());
    const bundle = Buffer.from(await exported.arrayBuffer());
    const island = await startNode({ remotes: { crates: { type: 'cargo', url: DEAD, ttl: 0 } } });
    nodes.push(island);
    const imported = await fetch(`${island.d.url}/_/api/v1/import?allowUnsigned=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${island.token}`, 'content-type': 'application/x-tar' },
      body: bundle,
    });
    assert.equal(imported.status, 200, await imported.clone().text());
    const report = (await imported.json()) as ImportReport;
    assert.deepEqual(report.unknownRemotes, []);
    const dir = join(work, 'island');
    await writeConsumer(
      { dir, name: 'app', deps: { alpha: '1' }, lib: 'pub fn v() -> u32 { alpha::value() }\n' },
      cargoConfig(island.d.url),
    );
    await writeFile(join(dir, 'Cargo.lock'), lock);
    const home = join(work, 'home-island');
    const fetched = await runCargo(['fetch', '--locked'], { cwd: dir, cargoHome: home });
    assert.equal(fetched.code, 0, fetched.stderr);
    const built = await runCargo(['build', '--offline', '--locked'], { cwd: dir, cargoHome: home });
    assert.equal(built.code, 0, built.stderr);
  });
});
