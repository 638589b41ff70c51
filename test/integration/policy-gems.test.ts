/**
 * The supply-chain policy on RubyGems: gem `tool` has versions published a
 * month ago (1.0.0), two days ago (1.1.0) and one a MAL- OSV record lists
 * (1.2.0); publish times come from the API's `/api/v1/versions/tool.json`
 * (`created_at`), as the compact index has none. Under `minAge: 7d`,
 * `/info/tool` leaves 1.1.0 and 1.2.0 out (with the md5 ETag of what is
 * served), Debian's bundler installs 1.0.0, and a direct `.gem` request for
 * a withheld version is refused 403 with the policy's sentence. The age
 * gate fails closed: while the versions API answers 503 for gem `flaky`,
 * its `/info` and `.gem` requests fail instead of being served unfiltered;
 * gem `plain`, whose upstream has no API (404), is served as it is.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { buildGemRepo } from '../helpers/gems/build.js';
import { ruby } from '../helpers/gems/ruby.js';
import { GemServer } from '../helpers/gems/server.js';

const DAY = 86_400_000;
const AGES: Record<string, number> = { '1.0.0': 30 * DAY, '1.1.0': 2 * DAY, '1.2.0': 40 * DAY };
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('policy on the RubyGems compact index', () => {
  let work: string;
  let up: GemServer;
  let daemon: TestDaemon;
  let base: string;

  before(async () => {
    work = await tempDir('larder-policy-gems-');
    const repo = await buildGemRepo(work, [
      ...Object.keys(AGES).map((version) => ({ name: 'tool', version })),
      { name: 'flaky', version: '1.0.0' },
      { name: 'plain', version: '1.0.0' },
    ]);
    const now = Date.now();
    const api = Object.entries(AGES).map(([number, age]) => ({ number, platform: 'ruby', created_at: new Date(now - age).toISOString() }));
    repo.files.set('/api/v1/versions/tool.json', Buffer.from(JSON.stringify(api)));
    const young = [{ number: '1.0.0', platform: 'ruby', created_at: new Date(now - DAY).toISOString() }];
    repo.files.set('/api/v1/versions/flaky.json', Buffer.from(JSON.stringify(young)));
    up = await GemServer.start(repo.files);
    up.failing.add('/api/v1/versions/flaky.json');
    const osv = join(work, 'osv');
    await mkdir(osv, { recursive: true });
    await writeFile(
      join(osv, 'MAL-2026-0200.json'),
      JSON.stringify({
        id: 'MAL-2026-0200',
        summary: 'Malicious code in tool',
        affected: [
          { package: { ecosystem: 'RubyGems', name: 'tool' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.2.0' }] }] },
        ],
      }),
    );
    daemon = await startTestDaemon({
      remotes: { rg: { type: 'gems', url: `${up.url}/` } },
      policy: { minAge: '7d', blocklist: { osv } },
    });
    base = `${daemon.url}/gems`;
  });

  after(async () => {
    await daemon?.close();
    await up?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('/info/<gem> leaves held-back and blocked versions out, with the md5 ETag of what it serves', async () => {
    const r = await fetch(`${base}/info/tool`);
    assert.equal(r.status, 200);
    const body = Buffer.from(await r.arrayBuffer());
    const versions = body
      .toString()
      .split('\n')
      .filter((l) => l && l !== '---')
      .map((l) => l.split(' ')[0]);
    assert.deepEqual(versions, ['1.0.0']);
    assert.equal(r.headers.get('etag'), `"${md5(body)}"`);
    const tail = await fetch(`${base}/info/tool`, { headers: { range: `bytes=${body.length - 1}-` } });
    assert.equal(tail.status, 206, 'ranges are over the served bytes');
  });

  it('refuses a .gem of a held-back or blocked version with 403 naming the policy', async () => {
    const held = await fetch(`${base}/gems/tool-1.1.0.gem`);
    assert.equal(held.status, 403);
    assert.match(await held.text(), /^tool@1\.1\.0 is held back by the Larder policy minAge 7d: published .*, allowed from /);
    const blocked = await fetch(`${base}/gems/tool-1.2.0.gem`);
    assert.equal(blocked.status, 403);
    assert.match(await blocked.text(), /tool@1\.2\.0 is blocked by the Larder policy blocklist: MAL-2026-0200/);
    assert.equal(up.hit('/gems/tool-1.2.0.gem'), 0, 'the blocked gem never left the server');
    assert.equal((await fetch(`${base}/gems/tool-1.0.0.gem`)).status, 200);
  });

  it('fails closed when the versions API errs, and serves a gem whose upstream has no API as it is', async () => {
    const info = await fetch(`${base}/info/flaky`);
    assert.ok(info.status >= 502 && info.status <= 504, `/info/flaky while the API errs: ${info.status}`);
    assert.doesNotMatch(await info.text(), /^1\.0\.0 /m, 'no unfiltered index lines');
    const gem = await fetch(`${base}/gems/flaky-1.0.0.gem`);
    assert.ok(gem.status >= 502 && gem.status <= 504, `.gem while the API errs: ${gem.status}`);
    await gem.arrayBuffer();
    assert.equal(up.hit('/gems/flaky-1.0.0.gem'), 0, 'the gem was not fetched past the gate');
    up.failing.delete('/api/v1/versions/flaky.json');
    const after = await fetch(`${base}/gems/flaky-1.0.0.gem`);
    assert.equal(after.status, 403, 'with the API back, the one-day-old version is held back');
    await after.arrayBuffer();
    const plain = await fetch(`${base}/info/plain`);
    assert.equal(plain.status, 200);
    assert.match(await plain.text(), /^1\.0\.0 /m, 'no API (404): not age-gated');
  });

  it('bundler installs the newest allowed version', async () => {
    const dir = join(work, 'app');
    const home = join(work, 'home');
    await mkdir(dir, { recursive: true });
    await mkdir(home, { recursive: true });
    await writeFile(join(dir, 'Gemfile'), 'source "https://rubygems.org"\ngem "tool"\n');
    for (const args of [
      ['config', 'set', '--local', 'mirror.https://rubygems.org', `${base}/`],
      ['config', 'set', '--local', 'path', join(dir, 'vendor')],
      ['install'],
    ]) {
      const r = await ruby('bundle', args, { cwd: dir, home });
      assert.equal(r.code, 0, `bundle ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    }
    assert.match(await readFile(join(dir, 'Gemfile.lock'), 'utf8'), /^ {4}tool \(1\.0\.0\)$/m);
  });
});
