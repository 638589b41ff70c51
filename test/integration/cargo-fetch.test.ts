/**
 * Cargo through Larder with the real `cargo` (the one on PATH), against a
 * local sparse registry of generated `.crate` files whose downloads
 * redirect to a second origin, as crates.io's do: `cargo fetch` and
 * `cargo build --offline` cold, then warm from a fresh CARGO_HOME with the
 * registry stopped; yanked versions left out by cargo as the index says;
 * conditional index requests answered 304; 410 and 451 kept; a corrupt
 * `.crate` refused and never committed; credentials never sent to the
 * download host.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cargoConfig, cargoVersion, runCargo, writeConsumer } from '../helpers/cargo/cargo-tool.js';
import { buildCrate } from '../helpers/cargo/crates.js';
import { CargoRegistry } from '../helpers/cargo/registry.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';

const beta020 = buildCrate({ name: 'beta', version: '0.2.0', lib: 'pub fn base() -> u32 { 40 }\n' });
const beta021 = buildCrate({ name: 'beta', version: '0.2.1', lib: 'compile_error!("a yanked version was used");\n', yanked: true });
const alpha = buildCrate({
  name: 'alpha',
  version: '1.0.0',
  deps: [{ name: 'beta', req: '^0.2' }],
  lib: 'pub fn value() -> u32 { beta::base() + 2 }\n',
});
const mixed = buildCrate({ name: 'Mixed_Case', version: '0.1.0', lib: 'pub const ONE: u32 = 1;\n' });
const gamma = buildCrate({ name: 'gamma', version: '1.0.0', lib: 'pub fn g() {}\n' });
const APP_LIB = 'pub fn answer() -> u32 { alpha::value() + Mixed_Case::ONE - 1 }\n';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function blobNames(dataDir: string): Promise<Set<string>> {
  const root = join(dataDir, 'blobs', 'sha256');
  const out = new Set<string>();
  for (const d of await readdir(root).catch(() => [] as string[])) for (const f of await readdir(join(root, d))) out.add(f);
  return out;
}

const version = await cargoVersion();

describe('cargo through Larder', { skip: version ? false : 'no cargo on PATH' }, () => {
  let reg: CargoRegistry;
  let daemon: TestDaemon;
  let work: string;
  let lock = '';

  before(async () => {
    work = await tempDir('larder-cargo-');
    reg = await CargoRegistry.start([beta020, beta021, alpha, mixed, gamma]);
    daemon = await startTestDaemon({
      remotes: { crates: { type: 'cargo', url: reg.indexUrl, ttl: 0, auth: { token: 'sekrit' } } },
      cargo: { default: 'crates' },
    });
    await writeConsumer(
      { dir: join(work, 'app'), name: 'app', deps: { alpha: '1', Mixed_Case: '0.1' }, lib: APP_LIB },
      cargoConfig(daemon.url),
    );
  });

  after(async () => {
    await daemon?.close();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it(`cold: cargo fetch, then cargo build --offline (${version})`, async () => {
    const app = join(work, 'app');
    const home = join(work, 'home-cold');
    const fetched = await runCargo(['fetch'], { cwd: app, cargoHome: home });
    assert.equal(fetched.code, 0, fetched.stderr);
    lock = await readFile(join(app, 'Cargo.lock'), 'utf8');
    for (const c of [beta020, alpha, mixed]) {
      assert.ok(lock.includes(`name = "${c.name}"\nversion = "${c.version}"`), `${c.name} ${c.version} locked:\n${lock}`);
      assert.ok(lock.includes(`checksum = "${c.cksum}"`), `${c.name}'s checksum is the index's cksum`);
      assert.equal(reg.downloads(c.name, c.version), 1, `${c.name} downloaded once`);
    }
    assert.ok(!lock.includes('0.2.1'), 'the yanked beta 0.2.1 is not chosen');
    const built = await runCargo(['build', '--offline'], { cwd: app, cargoHome: home });
    assert.equal(built.code, 0, built.stderr);
    const onIndex = reg.index.seen.filter((s) => s.path.startsWith('/index/'));
    assert.ok(onIndex.length > 0 && onIndex.every((s) => s.authorization === 'Bearer sekrit'), 'the remote credentials go to the index');
    assert.ok(reg.static.seen.length > 0 && reg.static.seen.every((s) => s.authorization === undefined), 'never to the download host');
  });

  it('config.json points cargo back at Larder; index files revalidate and answer 304', async () => {
    const config = (await (await fetch(`${daemon.url}/cargo/index/config.json`)).json()) as Record<string, unknown>;
    assert.deepEqual(config, { dl: `${daemon.url}/cargo/crates/dl` });
    const first = await fetch(`${daemon.url}/cargo/index/al/ph/alpha`);
    assert.equal(first.status, 200);
    assert.equal(await first.text(), `${alpha.line}\n`);
    const etag = first.headers.get('etag');
    const lastModified = first.headers.get('last-modified');
    assert.ok(etag && lastModified);
    const byEtag = await fetch(`${daemon.url}/cargo/index/al/ph/alpha`, { headers: { 'if-none-match': etag } });
    assert.equal(byEtag.status, 304);
    const byDate = await fetch(`${daemon.url}/cargo/index/al/ph/alpha`, { headers: { 'if-modified-since': lastModified } });
    assert.equal(byDate.status, 304);
    const upper = await fetch(`${daemon.url}/cargo/crates/index/MI/xe/Mixed_Case`);
    assert.equal(upper.status, 200, 'paths are lower-cased');
    assert.equal(await upper.text(), `${mixed.line}\n`);
    const revalidated = reg.index.seen.filter((s) => s.path === '/index/al/ph/alpha' && s.status === 304);
    assert.ok(revalidated.length >= 2, 'Larder revalidated the index file upstream with its ETag');
  });

  it('an upstream 404, 410 or 451 is passed through with cargo JSON errors', async () => {
    reg.statuses.set('/index/go/ne/gone', 410);
    reg.statuses.set('/index/ba/nn/banned', 451);
    for (const [path, status] of [
      ['/cargo/index/go/ne/gone', 410],
      ['/cargo/index/ba/nn/banned', 451],
      ['/cargo/index/no/ne/nonesuch', 404],
    ] as const) {
      const r = await fetch(`${daemon.url}${path}`);
      assert.equal(r.status, status, path);
      const body = (await r.json()) as { errors: Array<{ detail: string }> };
      assert.ok(typeof body.errors[0]?.detail === 'string', JSON.stringify(body));
    }
  });

  it('a corrupt .crate is refused, never committed, and fetched again once healed', async () => {
    const bad = join(work, 'bad');
    await writeConsumer({ dir: bad, name: 'bad', deps: { gamma: '1' }, lib: 'pub use gamma::g;\n' }, cargoConfig(daemon.url, 'crates'));
    reg.corrupt.add(reg.staticPath('gamma', '1.0.0'));
    const wrong = Buffer.from(gamma.body);
    wrong[wrong.length - 1] = wrong[wrong.length - 1]! ^ 0xff;
    const r = await runCargo(['fetch'], { cwd: bad, cargoHome: join(work, 'home-bad') });
    assert.notEqual(r.code, 0, 'cargo fails');
    assert.ok(!(await blobNames(daemon.dataDir)).has(sha256(wrong)), 'the corrupt bytes were not stored');
    reg.corrupt.clear();
    const before = reg.downloads('gamma', '1.0.0');
    const healed = await fetch(`${daemon.url}/cargo/crates/dl/gamma/1.0.0/download`);
    assert.equal(healed.status, 200);
    assert.equal(healed.headers.get('x-larder-cache'), 'MISS', 'nothing was committed for it');
    assert.ok(Buffer.from(await healed.arrayBuffer()).equals(gamma.body));
    assert.equal(reg.downloads('gamma', '1.0.0'), before + 1);
  });

  it('warm: a fresh CARGO_HOME fetches and builds with the registry stopped', async () => {
    const app = join(work, 'app');
    await reg.stop();
    await rm(join(app, 'Cargo.lock'));
    await rm(join(app, 'target'), { recursive: true, force: true });
    const home = join(work, 'home-warm');
    const fetched = await runCargo(['fetch'], { cwd: app, cargoHome: home });
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(await readFile(join(app, 'Cargo.lock'), 'utf8'), lock, 'the same resolution from the cached index');
    const built = await runCargo(['build', '--offline'], { cwd: app, cargoHome: home });
    assert.equal(built.code, 0, built.stderr);
  });
});
