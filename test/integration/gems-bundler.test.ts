/**
 * RubyGems through Larder with Debian's ruby 3.1 (gem 3.3, bundler 2.3)
 * against a local gem server serving gems built by the test: `bundle install`
 * through `bundle config mirror.https://rubygems.org`, `gem install --source`
 * and `gem sources`, cold and then warm with the server stopped; a corrupt
 * `.gem` refused and never committed; `/versions` ranges; 404s kept.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { buildGemRepo, compactIndex, publishGem, type GemRepo } from '../helpers/gems/build.js';
import { ruby, rubyVersions } from '../helpers/gems/ruby.js';
import { GemServer } from '../helpers/gems/server.js';

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

async function blobNames(dataDir: string): Promise<Set<string>> {
  const root = join(dataDir, 'blobs', 'sha256');
  const out = new Set<string>();
  for (const d of await readdir(root).catch(() => [] as string[])) for (const f of await readdir(join(root, d))) out.add(f);
  return out;
}

describe('gems with bundler and gem', () => {
  let work: string;
  let repo: GemRepo;
  let up: GemServer;
  let daemon: TestDaemon;
  let n = 0;

  before(async () => {
    work = await tempDir('larder-gems-');
    repo = await buildGemRepo(work, [
      { name: 'alpha', version: '1.0.0', deps: [['beta-kit', '>= 1.0', '< 3']] },
      { name: 'beta-kit', version: '1.0.0' },
      { name: 'beta-kit', version: '2.0.0' },
      { name: 'gamma', version: '0.1.0' },
      { name: 'delta', version: '1.0.0' },
    ]);
    up = await GemServer.start(repo.files);
    daemon = await startTestDaemon({
      remotes: {
        rg: { type: 'gems', url: `${up.url}/`, ttl: '1h' },
        // Revalidated on every use: follows the upstream as a new version is published.
        live: { type: 'gems', url: `${up.url}/`, ttl: 0 },
        // A second view with a long TTL, for the /versions–/info consistency case.
        lazy: { type: 'gems', url: `${up.url}/`, ttl: '1h' },
      },
      gems: { default: 'rg' },
    });
    console.log(`# ${await rubyVersions(work)}`);
  });

  after(async () => {
    await daemon?.close();
    await up?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`${daemon.url}${path}`, { headers });

  /** A fresh app (its own home) with a Gemfile for `gems`, mirrored to Larder (`/gems/` or `/gems/<remote>/`). */
  async function app(gems: string[], mount = '/gems/'): Promise<{ dir: string; home: string }> {
    const dir = join(work, `app-${++n}`);
    const home = join(work, `home-${n}`);
    await mkdir(dir, { recursive: true });
    await mkdir(home, { recursive: true });
    await writeFile(join(dir, 'Gemfile'), `source "https://rubygems.org"\n${gems.map((g) => `gem ${JSON.stringify(g)}\n`).join('')}`);
    for (const args of [
      ['config', 'set', '--local', 'mirror.https://rubygems.org', `${daemon.url}${mount}`],
      ['config', 'set', '--local', 'path', join(dir, 'vendor')],
    ]) {
      const r = await ruby('bundle', args, { cwd: dir, home });
      assert.equal(r.code, 0, r.stderr + r.stdout);
    }
    return { dir, home };
  }

  const bundle = (a: { dir: string; home: string }, args: string[]) => ruby('bundle', args, { cwd: a.dir, home: a.home });

  it('bundle install through the mirror setting (cold): every gem fetched once, verified, installed', async () => {
    const a = await app(['alpha']);
    const r = await bundle(a, ['install']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const lock = await readFile(join(a.dir, 'Gemfile.lock'), 'utf8');
    assert.match(lock, /^ {4}alpha \(1\.0\.0\)$/m);
    assert.match(lock, /^ {4}beta-kit \(2\.0\.0\)$/m, 'the dependency resolved through /info');
    const ran = await bundle(a, [
      'exec',
      'ruby',
      '-e',
      'require "alpha"; require "beta-kit"; print LARDER_TEST_ALPHA, " ", LARDER_TEST_BETA_KIT',
    ]);
    assert.equal(ran.stdout, '1.0.0 2.0.0', ran.stderr);
    assert.equal(up.hit('/gems/alpha-1.0.0.gem'), 1);
    assert.equal(up.hit('/gems/beta-kit-2.0.0.gem'), 1);
    assert.equal(up.hit('/gems/beta-kit-1.0.0.gem'), 0);
    assert.ok(up.hit('/versions') >= 1 && up.hit('/info/alpha') === 1 && up.hit('/info/beta-kit') === 1);
  });

  it('/versions and /info: upstream bytes, md5 ETags that agree, Range 206 or 200, If-None-Match 304', async () => {
    const r = await get('/gems/versions');
    assert.equal(r.status, 200);
    const full = Buffer.from(await r.arrayBuffer());
    assert.ok(full.equals(repo.files.get('/versions')!));
    const etag = `"${md5(full)}"`;
    assert.equal(r.headers.get('etag'), etag);
    const info = Buffer.from(await (await get('/gems/info/alpha')).arrayBuffer());
    assert.ok(info.equals(repo.files.get('/info/alpha')!));
    assert.ok(full.toString().includes(`alpha 1.0.0 ${md5(info)}\n`), 'the md5 /versions lists is that of the /info Larder serves');

    const from = full.length - 10;
    const part = await get('/gems/versions', { range: `bytes=${from}-` });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes ${from}-${full.length - 1}/${full.length}`);
    assert.equal(part.headers.get('etag'), etag, 'the ETag of a part is the md5 of the whole file (Bundler checks it after appending)');
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(full.subarray(from)));
    const beyond = await get('/gems/versions', { range: `bytes=${full.length + 5}-` });
    assert.equal(beyond.status, 200, 'a range past the end gets the whole file');
    assert.ok(Buffer.from(await beyond.arrayBuffer()).equals(full));
    const same = await get('/gems/versions', { range: `bytes=${from}-`, 'if-none-match': etag });
    assert.equal(same.status, 304);
    const other = await get('/gems/info/alpha', { range: 'bytes=3-', 'if-none-match': '"0123"' });
    assert.equal(other.status, 206);
    assert.ok(Buffer.from(await other.arrayBuffer()).equals(info.subarray(3)));
  });

  it('an upstream 404 stays a 404 (plain text), for /info, .gem and gemspec files', async () => {
    for (const path of [
      '/gems/info/no-such-gem',
      '/gems/gems/no-such-gem-1.0.0.gem',
      '/gems/quick/Marshal.4.8/no-such-gem-1.0.0.gemspec.rz',
    ]) {
      const r = await get(path);
      assert.equal(r.status, 404, path);
      assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.match(await r.text(), /could not be found/);
    }
    assert.equal(up.hit('/info/no-such-gem'), 1, 'the upstream was asked');
    assert.equal((await get('/gems/gems/gamma-9.9.9.gem')).status, 404, 'a version /info does not list');
  });

  it('gem install --clear-sources --source, and gem sources --add', async () => {
    const home = join(work, 'gem-home-a');
    await mkdir(home, { recursive: true });
    const src = `${daemon.url}/gems/`;
    const r = await ruby('gem', ['install', 'gamma', '--clear-sources', '--source', src, '--no-document'], { cwd: home, home });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Successfully installed gamma-0\.1\.0/);
    assert.equal(up.hit('/gems/gamma-0.1.0.gem'), 1);

    const home2 = join(work, 'gem-home-b');
    await mkdir(home2, { recursive: true });
    const added = await ruby('gem', ['sources', '--add', src, '--remove', 'https://rubygems.org/'], { cwd: home2, home: home2 });
    assert.equal(added.code, 0, added.stderr + added.stdout);
    assert.equal(up.hit('/specs.4.8.gz'), 1, 'gem sources checks the source through its full index');
    const list = await ruby('gem', ['sources', '--list'], { cwd: home2, home: home2 });
    assert.ok(list.stdout.includes(src) && !list.stdout.includes('https://rubygems.org'), list.stdout);
    const inst = await ruby('gem', ['install', 'alpha', '--no-document'], { cwd: home2, home: home2 });
    assert.equal(inst.code, 0, inst.stderr + inst.stdout);
    assert.match(inst.stdout, /Successfully installed alpha-1\.0\.0/);
    assert.equal(up.hit('/gems/alpha-1.0.0.gem'), 1, 'alpha was served from the cache');
  });

  it('a corrupt .gem fails bundle install and is never committed; a retry after the upstream heals succeeds', async () => {
    const delta = repo.gems.find((g) => g.def.name === 'delta')!;
    up.corrupt.add('/gems/delta-1.0.0.gem');
    const a = await app(['delta']);
    const bad = await bundle(a, ['install']);
    assert.notEqual(bad.code, 0, 'bundle install must fail on a corrupt gem');
    const wrong = Buffer.from(delta.data);
    const mid = Math.floor(wrong.length / 2);
    wrong[mid] = wrong[mid]! ^ 0xff;
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    let blobs = await blobNames(daemon.dataDir);
    assert.ok(!blobs.has(sha(wrong)) && !blobs.has(delta.sha256), 'nothing was committed');
    const hits = up.hit('/gems/delta-1.0.0.gem');
    assert.ok(hits >= 1);

    up.corrupt.delete('/gems/delta-1.0.0.gem');
    const good = await bundle(a, ['install']);
    assert.equal(good.code, 0, good.stderr + good.stdout);
    assert.equal(up.hit('/gems/delta-1.0.0.gem'), hits + 1, 'the failure was not negative-cached');
    for (let i = 0; i < 100 && !(await blobNames(daemon.dataDir)).has(delta.sha256); i++) await new Promise((r) => setTimeout(r, 50));
    blobs = await blobNames(daemon.dataDir);
    assert.ok(blobs.has(delta.sha256), 'the good gem was committed');
  });

  it('a version published upstream: bundler fetches the tail of /versions (206) and the new /info through Larder', async () => {
    const lazyInfo = await (await get('/gems/lazy/info/beta-kit')).text();
    const a = await app(['alpha'], '/gems/live/');
    assert.equal((await bundle(a, ['install'])).code, 0);
    const before = (await readFile(join(a.dir, 'Gemfile.lock'), 'utf8')).match(/^ {4}beta-kit \((.*)\)$/m)?.[1];
    assert.equal(before, '2.0.0');
    const oldSize = repo.files.get('/versions')!.length;
    await publishGem(repo, work, { name: 'beta-kit', version: '2.1.0' });

    const r = await bundle(a, ['update', 'beta-kit']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(await readFile(join(a.dir, 'Gemfile.lock'), 'utf8'), /^ {4}beta-kit \(2\.1\.0\)$/m);
    const part = await get('/gems/live/versions', { range: `bytes=${oldSize - 1}-` });
    assert.equal(part.status, 206, 'the range Bundler asks for, on the grown file');
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(repo.files.get('/versions')!.subarray(oldSize - 1)));
    assert.equal(up.hit('/gems/beta-kit-2.1.0.gem'), 1);
    const asked = up.log.filter((l) => l.path === '/versions' && l.range !== undefined).map((l) => l.range);
    assert.ok(asked.includes(`bytes=${oldSize - 1}-`), `Larder revalidated /versions by its new tail (asked ${asked.join(', ')})`);

    // A rewritten (not appended) /versions: the tail does not add up to the upstream's md5, so the whole file is fetched.
    const rewritten = Buffer.from(compactIndex(repo.gems)['/versions']!);
    assert.ok(!rewritten.equals(repo.files.get('/versions')!));
    repo.files.set('/versions', rewritten);
    const whole = Buffer.from(await (await get('/gems/live/versions')).arrayBuffer());
    assert.ok(whole.equals(rewritten), 'the rewritten file, whole');

    // /info/beta-kit was cached (fresh) by `lazy` before the change; its /versions is fetched only now and lists the new md5.
    const versions = await (await get('/gems/lazy/versions')).text();
    const info = await (await get('/gems/lazy/info/beta-kit')).text();
    assert.notEqual(info, lazyInfo, 'the cached /info was fetched again');
    const listed = [...versions.matchAll(/^beta-kit \S+ ([0-9a-f]{32})$/gm)].pop()?.[1];
    assert.equal(listed, md5(info), 'the md5 /versions lists is that of the /info served');
  });

  it('warm, with the upstream stopped: bundle install and gem install in fresh homes are served from the cache', async () => {
    await up.stop();
    const a = await app(['alpha']);
    const r = await bundle(a, ['install']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const ran = await bundle(a, ['exec', 'ruby', '-e', 'require "alpha"; require "beta-kit"; print LARDER_TEST_BETA_KIT']);
    assert.equal(ran.stdout, '2.0.0', ran.stderr);
    const home = join(work, 'gem-home-warm');
    await mkdir(home, { recursive: true });
    const g = await ruby('gem', ['install', 'gamma', '--clear-sources', '--source', `${daemon.url}/gems/`, '--no-document'], {
      cwd: home,
      home,
    });
    assert.equal(g.code, 0, g.stderr + g.stdout);
    const stale = await get('/gems/info/alpha');
    assert.equal(stale.status, 200);
    assert.ok(['HIT', 'STALE'].includes(stale.headers.get('x-larder-cache') ?? ''));
  });
});
