/**
 * RubyGems through a mirror hierarchy (root → edge): the edge's own upstream
 * is a dead port, so whatever it serves came through `/gems/<remote>/` on its
 * parent. The compact index arrives byte for byte (the md5s /versions lists
 * still match), Debian's bundler installs through the edge, and each gem is
 * fetched from the real gem server once.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNode, type ChainDaemon } from '../helpers/edge-chain.js';
import { tempDir } from '../helpers/daemon.js';
import { buildGemRepo, type GemRepo } from '../helpers/gems/build.js';
import { ruby } from '../helpers/gems/ruby.js';
import { GemServer } from '../helpers/gems/server.js';

const DEAD = 'http://127.0.0.1:9';
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

describe('gems through a parent Larder', () => {
  let work: string;
  let repo: GemRepo;
  let up: GemServer;
  const nodes: ChainDaemon[] = [];

  before(async () => {
    work = await tempDir('larder-gems-edge-');
    repo = await buildGemRepo(work, [
      { name: 'chain-top', version: '1.0.0', deps: [['chain-dep', '~> 0.2']] },
      { name: 'chain-dep', version: '0.2.1' },
    ]);
    up = await GemServer.start(repo.files);
    const root = await startNode({ remotes: { rg: { type: 'gems', url: `${up.url}/` } } });
    nodes.push(root);
    nodes.push(await startNode({ remotes: { rg: { type: 'gems', url: `${DEAD}/` } } }, { url: root.d.url, token: root.token }));
  });

  after(async () => {
    for (const n of nodes.reverse()) await n.d.close();
    await up?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('serves the compact index and verified gems that came through the parent', async () => {
    const edge = nodes[1]!.d;
    const versions = Buffer.from(await (await fetch(`${edge.url}/gems/versions`)).arrayBuffer());
    assert.ok(versions.equals(repo.files.get('/versions')!));
    const info = await fetch(`${edge.url}/gems/info/chain-dep`);
    assert.equal(info.status, 200);
    const body = Buffer.from(await info.arrayBuffer());
    assert.equal(info.headers.get('etag'), `"${md5(body)}"`);
    assert.ok(versions.toString().includes(`chain-dep 0.2.1 ${md5(body)}\n`));

    const dir = join(work, 'app');
    const home = join(work, 'home');
    await mkdir(dir, { recursive: true });
    await mkdir(home, { recursive: true });
    await writeFile(join(dir, 'Gemfile'), 'source "https://rubygems.org"\ngem "chain-top"\n');
    for (const args of [
      ['config', 'set', '--local', 'mirror.https://rubygems.org', `${edge.url}/gems/`],
      ['config', 'set', '--local', 'path', join(dir, 'vendor')],
      ['install'],
    ]) {
      const r = await ruby('bundle', args, { cwd: dir, home });
      assert.equal(r.code, 0, `bundle ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    }
    assert.equal(up.hit('/gems/chain-top-1.0.0.gem'), 1);
    assert.equal(up.hit('/gems/chain-dep-0.2.1.gem'), 1);
    assert.equal(up.hit('/versions'), 1, 'the root fetched /versions once for the edge');
    const gem = await fetch(`${edge.url}/gems/gems/chain-dep-0.2.1.gem`);
    assert.equal(gem.headers.get('x-larder-cache'), 'HIT');
  });
});
