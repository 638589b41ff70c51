/**
 * LAN peers without sockets, part one: the `peers:` config contract and the
 * peer chooser (first positive HEAD wins, dropped peers are not asked, at
 * most `maxAsked` asked per round, silent peers dropped after a few rounds),
 * and the bounded peer book (listed peers and unexpired drops are kept).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { validateConfig } from '../../daemon/config/load.js';
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from '../../daemon/core/ports.js';
import { LanPeers } from '../../daemon/upstream/peers.js';

test('peers config: off by default, mdns accepted, a token required when enabled and interpolated', () => {
  assert.equal(validateConfig({}, 't').peers.enabled, false);
  const env = { LARDER_PEER_TOKEN: 'site-secret' };
  const on = validateConfig({ peers: { enabled: true, discover: ['mdns', 'static'], token: '${LARDER_PEER_TOKEN}' } }, 't', env);
  assert.equal(on.peers.token, 'site-secret');
  assert.deepEqual(on.peers.discover, ['mdns', 'static']);
  assert.throws(() => validateConfig({ peers: { enabled: true } }, 't'), /peers\.token is required/);
  assert.throws(() => validateConfig({ peers: { discover: 'carrier-pigeon' } }, 't'));
  assert.throws(() => validateConfig({ peers: { static: ['ftp://10.0.0.1'] } }, 't'));
});

/** A client whose answers are scripted by peer host: a status, a thrown error, or no answer until aborted. */
function scripted(answers: Record<string, number | 'down' | 'hang'>, asked: string[]): UpstreamClient {
  return {
    async request(req: UpstreamRequest): Promise<UpstreamResponse> {
      const host = new URL(req.url).host;
      asked.push(`${req.method ?? 'GET'} ${host}`);
      const a = answers[host];
      if (a === 'hang') {
        return new Promise((_, reject) => req.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      }
      if (a === 'down' || a === undefined) throw new Error('ECONNREFUSED');
      return { status: a, headers: { 'content-length': '3' }, body: Readable.from([Buffer.from('abc')]), url: req.url };
    },
  };
}

test('the peer chooser: first positive answer wins; nobody → undefined; a failed peer is left out', async () => {
  const asked: string[] = [];
  const failures: string[] = [];
  const outcomes: string[] = [];
  const peers = new LanPeers({
    peers: ['http://a:1', 'http://b:1', 'http://c:1/'],
    token: 't',
    client: scripted({ 'a:1': 404, 'b:1': 200, 'c:1': 'down' }, asked),
    onFailure: (peer, reason) => failures.push(`${peer} ${reason}`),
    onAsked: (outcome) => outcomes.push(outcome),
  });
  const digest = { algo: 'sha256' as const, hex: '0'.repeat(64) };
  const offer = await peers.offer(digest, 1 << 20, new AbortController().signal);
  assert.equal(offer?.peer, 'http://b:1');
  assert.ok(asked.includes('GET b:1'));
  assert.equal(await peers.offer(digest, 2, new AbortController().signal), undefined, 'too large for the caller');
  assert.deepEqual(failures, ['http://c:1 unreachable'], 'a peer that cannot be reached is counted (once nobody won)');
  peers.failed('http://b:1', 'integrity');
  asked.length = 0;
  assert.equal(await peers.offer(digest, 1 << 20, new AbortController().signal), undefined);
  assert.deepEqual(asked, ['HEAD a:1'], 'only the healthy peer is asked');
  assert.deepEqual(outcomes, ['held', 'none', 'none'], 'each HEAD round reported by outcome');
  // A peer that does not answer within the budget: the round ends at the budget, counted as such, and it is not dropped.
  const slow = new LanPeers({
    peers: ['http://s:1'],
    token: 't',
    budgetMs: 30,
    client: scripted({ 's:1': 'hang' }, []),
    onAsked: (outcome, ms) => outcomes.push(`${outcome} ${ms >= 25}`),
  });
  assert.equal(await slow.offer(digest, 1 << 20, new AbortController().signal), undefined);
  assert.equal(outcomes.at(-1), 'budget true');
  assert.deepEqual(slow.healthy(), ['http://s:1']);
});

test('the peer tally is bounded: peers unlisted past forgetMs are forgotten, and at most maxRemembered are kept', () => {
  let now = 1_000_000;
  let list = ['http://a:1', 'http://b:1'];
  const peers = new LanPeers({
    peers: () => list,
    token: 't',
    client: scripted({}, []),
    forgetMs: 60_000,
    maxRemembered: 3,
    now: () => now,
  });
  peers.served('http://a:1', 10, true);
  peers.failed('http://b:1', 'transfer');
  assert.equal(peers.health().length, 2);
  // b leaves the LAN; a stays listed.
  list = ['http://a:1'];
  now += 30_000;
  assert.equal(peers.health().length, 1);
  assert.equal(peers.remembered(), 2, 'b is still remembered within forgetMs');
  now += 31_000;
  peers.health();
  assert.equal(peers.remembered(), 1, 'b is forgotten past forgetMs');
  assert.equal(peers.health()[0]?.hits, 1, "a's tally is kept while it is listed");
  // b comes back: a fresh tally, not its old failure.
  list = ['http://a:1', 'http://b:1'];
  assert.deepEqual(
    peers.health().map((h) => [h.url, h.healthy, h.failures]),
    [
      ['http://a:1', true, 0],
      ['http://b:1', true, 0],
    ],
  );
  // A flood of discovered peers: at most maxRemembered kept, the longest unseen first out.
  for (let i = 0; i < 10; i++) {
    now += 1_000;
    list = [`http://flood-${i}:1`];
    peers.health();
  }
  assert.equal(peers.remembered(), 3);
  // A peer that served after it left the list is still counted, and bounded like the rest.
  peers.served('http://gone:1', 5, true);
  now += 2_000;
  peers.health();
  assert.ok(peers.remembered() <= 3);
});

const DIGEST = { algo: 'sha256' as const, hex: '0'.repeat(64) };
const ask = (p: LanPeers, signal = new AbortController().signal) => p.offer(DIGEST, 1 << 20, signal);

test('more peers listed than maxRemembered: none of them is forgotten, and a drop lasts until it expires', () => {
  let now = 1_000_000;
  let list = ['http://a:1', 'http://b:1', 'http://c:1'];
  const peers = new LanPeers({ peers: () => list, token: 't', client: scripted({}, []), maxRemembered: 2, dropMs: 60_000, now: () => now });
  peers.failed('http://c:1', 'integrity');
  for (let i = 0; i < 5; i++) {
    now += 2_000;
    assert.deepEqual(peers.healthy(), ['http://a:1', 'http://b:1'], `c still left out, round ${i}`);
  }
  assert.equal(peers.remembered(), 3, 'listed peers are kept past the cap');
  // c leaves the list and is forgotten past the cap; its drop is kept until it expires.
  list = ['http://a:1'];
  now += 2_000;
  peers.health();
  assert.equal(peers.remembered(), 2);
  list = ['http://a:1', 'http://b:1', 'http://c:1'];
  assert.deepEqual(peers.healthy(), ['http://a:1', 'http://b:1'], 'coming back does not clear the drop');
  now += 60_000;
  assert.deepEqual(peers.healthy(), list, 'the drop expired');
});

test('a round asks at most maxAsked peers, those that filled misses first', async () => {
  const asked: string[] = [];
  const list = Array.from({ length: 12 }, (_, i) => `http://p${i}:1`);
  const peers = new LanPeers({ peers: list, token: 't', client: scripted({}, asked), maxAsked: 4, dropMs: 0 });
  peers.served('http://p11:1', 10, true);
  peers.served('http://p10:1', 10, true);
  peers.served('http://p10:1', 10, true);
  assert.equal(await ask(peers), undefined);
  assert.equal(asked.length, 4, 'four HEADs');
  assert.deepEqual(asked.slice(0, 2).sort(), ['HEAD p10:1', 'HEAD p11:1'], 'the peers with hits are asked');
  asked.length = 0;
  assert.equal(await ask(peers), undefined);
  assert.equal(asked.length, 4);
  assert.ok(asked.includes('HEAD p10:1') && asked.includes('HEAD p11:1'));
});

test('a peer silent past the budget is dropped as unreachable after three rounds running, not before', async () => {
  const failures: string[] = [];
  const peers = new LanPeers({
    peers: ['http://s:1', 'http://n:1'],
    token: 't',
    budgetMs: 30,
    client: scripted({ 's:1': 'hang', 'n:1': 404 }, []),
    onFailure: (peer, reason) => failures.push(`${peer} ${reason}`),
  });
  let rounds = 0;
  // A timer that fires late (this process was busy) is not the peer's fault; such rounds do not count,
  // so the number of rounds is bounded loosely here.
  while (peers.healthy().includes('http://s:1') && rounds < 30) {
    await ask(peers);
    rounds++;
  }
  assert.ok(rounds >= 3, `not dropped before three rounds (${rounds})`);
  assert.deepEqual(peers.healthy(), ['http://n:1'], 'the silent peer is left out; the answering one is not');
  assert.deepEqual(failures, ['http://s:1 unreachable']);
});

test('rounds whose timer fired late (a busy event loop), or asked at once, do not count against a silent peer', async () => {
  const peers = new LanPeers({ peers: ['http://s:1'], token: 't', budgetMs: 30, client: scripted({ 's:1': 'hang' }, []) });
  for (let i = 0; i < 5; i++) {
    const round = ask(peers);
    const until = performance.now() + 200;
    while (performance.now() < until); // the loop is busy well past the budget
    assert.equal(await round, undefined);
  }
  assert.deepEqual(peers.healthy(), ['http://s:1']);
  // Five misses asked at once (npm ci): one busy moment of the peer counts as one round.
  await Promise.all(Array.from({ length: 5 }, () => ask(peers)));
  assert.deepEqual(peers.healthy(), ['http://s:1']);
});

test('a HEAD round ended by the fill being aborted (shutdown) is not reported, and nobody is blamed', async () => {
  const outcomes: string[] = [];
  const failures: string[] = [];
  const peers = new LanPeers({
    peers: ['http://s:1'],
    token: 't',
    budgetMs: 10_000,
    client: scripted({ 's:1': 'hang' }, []),
    onAsked: (outcome) => outcomes.push(outcome),
    onFailure: (peer) => failures.push(peer),
  });
  const ac = new AbortController();
  const round = ask(peers, ac.signal);
  setTimeout(() => ac.abort(), 10);
  assert.equal(await round, undefined);
  assert.deepEqual(outcomes, []);
  assert.deepEqual(failures, []);
});
