/**
 * The supply-chain policy on the Cargo sparse index, with the real `cargo`:
 * crate `beta` has versions published a month ago (0.2.0), two days ago
 * (0.2.1, `pubtime` in its index line) and one without a `pubtime` that a
 * MAL- OSV record lists (0.2.2). Under `minAge: 7d` the index file leaves
 * the last two out, so `cargo fetch` locks 0.2.0 (the others would not
 * compile); a direct `.crate` request for either is refused 403 in cargo's
 * error format naming the policy; a pin lets the young one through, never
 * the blocked one.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminClient, adminToken } from '../helpers/admin-e2e.js';
import { cargoConfig, cargoVersion, runCargo, writeConsumer } from '../helpers/cargo/cargo-tool.js';
import { type BuiltCrate, buildCrate } from '../helpers/cargo/crates.js';
import { CargoRegistry } from '../helpers/cargo/registry.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';

const DAY = 86_400_000;

function published(c: BuiltCrate, ageMs: number | undefined): BuiltCrate {
  if (ageMs === undefined) return c;
  return {
    ...c,
    line: JSON.stringify({ ...JSON.parse(c.line), pubtime: new Date(Date.now() - ageMs).toISOString().replace(/\.\d{3}Z$/, 'Z') }),
  };
}

const old = published(buildCrate({ name: 'beta', version: '0.2.0', lib: 'pub fn base() -> u32 { 40 }\n' }), 30 * DAY);
const young = published(buildCrate({ name: 'beta', version: '0.2.1', lib: 'compile_error!("held back");\n' }), 2 * DAY);
const bad = buildCrate({ name: 'beta', version: '0.2.2', lib: 'compile_error!("malware");\n' });

const version = await cargoVersion();

describe('policy on the cargo sparse index', { skip: version ? false : 'no cargo on PATH' }, () => {
  let reg: CargoRegistry;
  let daemon: TestDaemon;
  let work: string;
  let base: string;

  before(async () => {
    work = await tempDir('larder-policy-cargo-');
    const osv = join(work, 'osv');
    await mkdir(osv, { recursive: true });
    await writeFile(
      join(osv, 'MAL-2026-0100.json'),
      JSON.stringify({
        id: 'MAL-2026-0100',
        summary: 'Malicious code in beta',
        affected: [{ package: { ecosystem: 'crates.io', name: 'beta' }, versions: ['0.2.2'] }],
      }),
    );
    reg = await CargoRegistry.start([old, young, bad]);
    daemon = await startTestDaemon({
      remotes: { crates: { type: 'cargo', url: reg.indexUrl, ttl: 0 } },
      cargo: { default: 'crates' },
      policy: { minAge: '7d', blocklist: { osv } },
    });
    base = `${daemon.url}/cargo/crates`;
  });

  after(async () => {
    await daemon?.close();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the index file leaves held-back and blocked versions out', async () => {
    const r = await fetch(`${base}/index/be/ta/beta`);
    assert.equal(r.status, 200);
    const vers = (await r.text())
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { vers: string }).vers);
    assert.deepEqual(vers, ['0.2.0']);
    assert.match(r.headers.get('etag') ?? '', /-policy-[0-9a-f]{12}"$/);
  });

  it(`cargo fetch locks the newest allowed version (${version})`, async () => {
    const app = join(work, 'app');
    await writeConsumer(
      { dir: app, name: 'app', deps: { beta: '0.2' }, lib: 'pub fn f() -> u32 { beta::base() }\n' },
      cargoConfig(daemon.url),
    );
    const r = await runCargo(['fetch'], { cwd: app, cargoHome: join(work, 'home') });
    assert.equal(r.code, 0, r.stderr);
    const lock = await readFile(join(app, 'Cargo.lock'), 'utf8');
    assert.ok(lock.includes('name = "beta"\nversion = "0.2.0"'), lock);
  });

  it('cargo cannot select a withheld version', async () => {
    const app = join(work, 'app-young');
    await writeConsumer({ dir: app, name: 'app_young', deps: { beta: '=0.2.1' }, lib: '' }, cargoConfig(daemon.url));
    const r = await runCargo(['fetch'], { cwd: app, cargoHome: join(work, 'home') });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /beta/);
  });

  it('refuses a .crate of a held-back or blocked version with 403 naming the policy', async () => {
    const held = await fetch(`${base}/dl/beta/0.2.1/download`);
    assert.equal(held.status, 403);
    const h = (await held.json()) as { errors: Array<{ detail: string }> };
    assert.match(h.errors[0]!.detail, /^beta@0\.2\.1 is held back by the Larder policy minAge 7d: published .*, allowed from /);
    const blocked = await fetch(`${base}/dl/beta/0.2.2/download`);
    assert.equal(blocked.status, 403);
    const b = (await blocked.json()) as { errors: Array<{ detail: string }> };
    assert.match(b.errors[0]!.detail, /beta@0\.2\.2 is blocked by the Larder policy blocklist: MAL-2026-0100/);
    assert.equal(reg.downloads('beta', '0.2.2'), 0, 'the blocked crate never left the registry');
  });

  it('a pin lets the young version through, not the blocked one', async () => {
    const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
    await admin.ok('POST', '/pins', { ref: 'cargo:beta@0.2.1' });
    assert.equal((await fetch(`${base}/dl/beta/0.2.1/download`)).status, 200);
    const vers = (await (await fetch(`${base}/index/be/ta/beta`)).text()).trim().split('\n');
    assert.equal(vers.length, 2, 'the pinned version is listed again');
    const explained = await admin.ok<{ verdict: string; because?: string }>(
      'GET',
      `/policy/explain?ref=${encodeURIComponent('cargo:beta@0.2.1')}`,
    );
    assert.equal(explained.verdict, 'allowed');
    assert.equal(explained.because, 'pinned');
  });
});

describe('policy on a cached cargo index that lacks a new version', { skip: version ? false : 'no cargo on PATH' }, () => {
  let reg: CargoRegistry;
  let daemon: TestDaemon;

  before(async () => {
    const first = published(buildCrate({ name: 'gamma', version: '1.0.0', lib: 'pub fn g() -> u32 { 1 }\n' }), 30 * DAY);
    reg = await CargoRegistry.start([first]);
    daemon = await startTestDaemon({
      remotes: { crates: { type: 'cargo', url: reg.indexUrl, ttl: '1h' } },
      cargo: { default: 'crates' },
      policy: { minAge: '7d' },
    });
  });

  after(async () => {
    await daemon?.close();
    await reg?.stop();
  });

  it('a direct .crate request for a version newer than the cached index is decided on, not served', async () => {
    const base = `${daemon.url}/cargo/crates`;
    assert.equal((await fetch(`${base}/index/ga/mm/gamma`)).status, 200, 'the index file is cached (ttl 1h)');
    reg.publish(published(buildCrate({ name: 'gamma', version: '1.0.1', lib: 'compile_error!("too new");\n' }), DAY));
    const r = await fetch(`${base}/dl/gamma/1.0.1/download`);
    assert.equal(r.status, 403);
    const body = (await r.json()) as { errors: Array<{ detail: string }> };
    assert.match(body.errors[0]!.detail, /^gamma@1\.0\.1 is held back by the Larder policy minAge 7d/);
    assert.equal(reg.downloads('gamma', '1.0.1'), 0, 'the young crate never left the registry');
  });
});
