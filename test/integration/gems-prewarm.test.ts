/**
 * Pre-warm, pins and scrub repair for RubyGems through the admin API: a
 * Gemfile.lock job (its CHECKSUMS section checked against each /info
 * checksum before anything is fetched), a corrupt upstream gem refused, a
 * `gems:` pin, a rotten .gem blob repaired by scrub, and then Debian's
 * bundler installing the locked gems with the upstream stopped.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job, Pin, ScrubStatus } from '../../daemon/admin/contract.js';
import { adminClient, adminToken, blobPath, type AdminClient } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { buildGemRepo, type BuiltGem, type GemRepo } from '../helpers/gems/build.js';
import { ruby } from '../helpers/gems/ruby.js';
import { GemServer } from '../helpers/gems/server.js';
import { waitFor } from '../helpers/wait.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function blobNames(dataDir: string): Promise<Set<string>> {
  const root = join(dataDir, 'blobs', 'sha256');
  const out = new Set<string>();
  for (const d of await readdir(root).catch(() => [] as string[])) for (const f of await readdir(join(root, d))) out.add(f);
  return out;
}

/** A Gemfile.lock as Bundler 2.5 writes it (2.3 ignores the CHECKSUMS section). */
function gemfileLock(gems: Array<{ g: BuiltGem; deps?: string[] }>, sums: Record<string, string> = {}): string {
  const specs = gems
    .map(({ g, deps }) => `    ${g.def.name} (${g.def.version})\n${(deps ?? []).map((d) => `      ${d}\n`).join('')}`)
    .join('');
  const checksums = gems.map(({ g }) => `  ${g.def.name} (${g.def.version}) sha256=${sums[g.def.name] ?? g.sha256}\n`).join('');
  return (
    `GEM\n  remote: https://rubygems.org/\n  specs:\n${specs}\nPLATFORMS\n  ruby\n\nDEPENDENCIES\n${gems.map(({ g }) => `  ${g.def.name}\n`).join('')}` +
    `\nCHECKSUMS\n${checksums}\nBUNDLED WITH\n   2.3.15\n`
  );
}

describe('gems pre-warm, pins and scrub', () => {
  let work: string;
  let repo: GemRepo;
  let up: GemServer;
  let daemon: TestDaemon;
  let admin: AdminClient;
  const gem = (stem: string): BuiltGem => repo.gems.find((g) => g.stem === stem)!;

  before(async () => {
    work = await tempDir('larder-gems-warm-');
    repo = await buildGemRepo(work, [
      { name: 'alpha', version: '1.0.0', deps: [['beta-kit', '>= 1.0', '< 3']] },
      { name: 'beta-kit', version: '2.0.0' },
      { name: 'beta-kit', version: '3.0.0' },
      { name: 'gamma', version: '0.1.0' },
      { name: 'delta', version: '1.0.0' },
    ]);
    up = await GemServer.start(repo.files);
    daemon = await startTestDaemon({ remotes: { rg: { type: 'gems', url: `${up.url}/`, ttl: '1h' } }, gems: { default: 'rg' } });
    admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
  });

  after(async () => {
    await daemon?.close();
    await up?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const runJob = async (files: Array<{ name: string; content: string }>): Promise<Job> => {
    const started = await admin.ok<Job>('POST', '/jobs', { files });
    return admin.waitJob(started.id, 60_000);
  };

  const lock = (): string => gemfileLock([{ g: gem('alpha-1.0.0'), deps: ['beta-kit (>= 1.0, < 3)'] }, { g: gem('beta-kit-2.0.0') }]);

  it('a Gemfile.lock job warms every locked gem, verified, once', async () => {
    const job = await runJob([{ name: 'Gemfile.lock', content: lock() }]);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(
      job.items.map((i) => [i.ref, i.state]),
      [
        ['gems:alpha@1.0.0', 'done'],
        ['gems:beta-kit@2.0.0', 'done'],
      ],
    );
    assert.equal(job.bytes, gem('alpha-1.0.0').data.length + gem('beta-kit-2.0.0').data.length);
    assert.equal(up.hit('/gems/alpha-1.0.0.gem'), 1);
    assert.equal(up.hit('/gems/beta-kit-2.0.0.gem'), 1);
    assert.equal(up.hit('/quick/Marshal.4.8/alpha-1.0.0.gemspec.rz'), 1);
    assert.equal(up.hit('/versions'), 1, 'Bundler reads /versions first: warmed once');
    const blobs = await blobNames(daemon.dataDir);
    for (const s of ['alpha-1.0.0', 'beta-kit-2.0.0']) assert.ok(blobs.has(gem(s).sha256), s);

    const again = await runJob([{ name: 'Gemfile.lock', content: lock() }]);
    assert.deepEqual(
      again.items.map((i) => i.state),
      ['cached', 'cached'],
    );
    assert.equal(up.hit('/gems/alpha-1.0.0.gem'), 1);
  });

  it('a CHECKSUMS sha256 the upstream disagrees with, and a corrupt upstream gem, fail as E_INTEGRITY and store nothing', async () => {
    up.corrupt.add('/gems/delta-1.0.0.gem');
    const content = gemfileLock([{ g: gem('gamma-0.1.0') }, { g: gem('delta-1.0.0') }], { gamma: 'ab'.repeat(32) });
    const job = await runJob([{ name: 'Gemfile.lock', content }]);
    assert.equal(job.state, 'failed');
    const [g, d] = job.items;
    assert.match(g!.error ?? '', /^E_INTEGRITY: gems:gamma@0\.1\.0: checksum mismatch/);
    assert.ok(g!.error!.includes(gem('gamma-0.1.0').sha256), 'the message names what the upstream lists');
    assert.equal(up.hit('/gems/gamma-0.1.0.gem'), 0, 'nothing was fetched for a mismatching checksum');
    assert.match(d!.error ?? '', /^E_INTEGRITY: gems:delta@1\.0\.0: delta-1\.0\.0\.gem does not match the checksum/);
    const blobs = await blobNames(daemon.dataDir);
    assert.ok(!blobs.has(gem('gamma-0.1.0').sha256) && !blobs.has(gem('delta-1.0.0').sha256));
    up.corrupt.delete('/gems/delta-1.0.0.gem');
  });

  it('pins a gem version: its .gem, /info, gemspec and /versions', async () => {
    const pin = await admin.ok<Pin>('POST', '/pins', { ref: 'gems:gamma@0.1.0' });
    assert.equal(pin.status, 'ok', JSON.stringify(pin));
    assert.equal(pin.resolved, '0.1.0');
    assert.equal(pin.mutable, false);
    assert.equal(pin.items, 4);
    assert.equal(up.hit('/gems/gamma-0.1.0.gem'), 1);
    const bad = await admin.call('POST', '/pins', { ref: 'gems:gamma@^1' });
    assert.equal(bad.status, 400);
  });

  it('a gems: reference job expands runtime dependencies to the highest version meeting them', async () => {
    const started = await admin.ok<Job>('POST', '/jobs', { refs: ['gems:alpha@1.0.0'] });
    const job = await admin.waitJob(started.id, 60_000);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(
      job.items.map((i) => i.ref),
      ['gems:alpha@1.0.0', 'gems:beta-kit@2.0.0'],
    );
  });

  it('scrub repairs a rotten .gem blob from the upstream', async () => {
    const alpha = gem('alpha-1.0.0');
    const r = await fetch(`${daemon.url}/gems/gems/alpha-1.0.0.gem`);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(alpha.data));
    const h = await open(blobPath(daemon.dataDir, `sha256:${alpha.sha256}`), 'r+');
    await h.write(Buffer.alloc(16, 0x5a), 0, 16, Math.floor(alpha.data.length / 2));
    await h.close();
    const status = await admin.ok<ScrubStatus>('POST', '/scrub', { now: true });
    assert.ok(status.corrupt >= 1 && status.repaired >= 1, JSON.stringify(status));
    assert.equal(up.hit('/gems/alpha-1.0.0.gem'), 2, 'fetched again once');
    await waitFor(async () => (await blobNames(daemon.dataDir)).has(alpha.sha256) || undefined, 5_000, 'the repaired gem');
    const again = await fetch(`${daemon.url}/gems/gems/alpha-1.0.0.gem`);
    assert.equal(again.headers.get('x-larder-cache'), 'HIT');
    assert.equal(sha256(Buffer.from(await again.arrayBuffer())), alpha.sha256);
  });

  it('with the upstream stopped, bundle install of the warmed lockfile succeeds', async () => {
    await up.stop();
    const dir = join(work, 'app');
    const home = join(work, 'home');
    await mkdir(dir, { recursive: true });
    await mkdir(home, { recursive: true });
    await writeFile(join(dir, 'Gemfile'), 'source "https://rubygems.org"\ngem "alpha"\ngem "beta-kit"\n');
    await writeFile(join(dir, 'Gemfile.lock'), lock());
    for (const args of [
      ['config', 'set', '--local', 'mirror.https://rubygems.org', `${daemon.url}/gems/`],
      ['config', 'set', '--local', 'path', join(dir, 'vendor')],
      ['install'],
      ['exec', 'ruby', '-e', 'require "alpha"; require "beta-kit"; print LARDER_TEST_BETA_KIT'],
    ]) {
      const res = await ruby('bundle', args, { cwd: dir, home });
      assert.equal(res.code, 0, `bundle ${args.join(' ')}: ${res.stderr}${res.stdout}`);
      if (args[0] === 'exec') assert.equal(res.stdout, '2.0.0');
    }
  });
});
