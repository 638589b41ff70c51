import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerRequestVerifier, peerKey, signPeerRequest } from '../../daemon/peers/request-signature.js';

const TOKEN = 'peer-token-of-the-site-0123456789';
const PATH = `/_/peer/v1/blobs/sha256/${'ab'.repeat(32)}`;

/** A verifier on a clock the test moves by hand. */
function verifier(opts: { maxNonces?: number } = {}): { v: PeerRequestVerifier; clock: { now: number } } {
  const clock = { now: 1_800_000_000_000 };
  return { v: new PeerRequestVerifier(TOKEN, { now: () => clock.now, ...opts }), clock };
}

test('a request signed with the site key is accepted; the header carries no token', () => {
  const { v, clock } = verifier();
  const h = signPeerRequest(peerKey(TOKEN), 'GET', PATH, clock.now);
  assert.match(h, /^Larder-Peer t=\d+, n=[A-Za-z0-9_-]{22}, s=[A-Za-z0-9_-]{43}$/);
  assert.ok(!h.includes(TOKEN));
  assert.equal(v.check('GET', PATH, h), undefined);
  assert.equal(v.check('HEAD', PATH, signPeerRequest(peerKey(TOKEN), 'head', PATH, clock.now)), undefined, 'method case-insensitive');
  assert.notEqual(signPeerRequest(peerKey(TOKEN), 'GET', PATH, clock.now), h, 'a fresh nonce each time');
});

test('a wrong key is refused', () => {
  const { v, clock } = verifier();
  assert.equal(v.check('GET', PATH, signPeerRequest(peerKey('not-the-site-token'), 'GET', PATH, clock.now)), 'signature');
  assert.equal(v.remembered(), 0, 'unauthenticated nonces are not remembered');
});

test('a stale or future timestamp is refused, within the skew it is accepted', () => {
  const { v, clock } = verifier();
  const key = peerKey(TOKEN);
  assert.equal(v.check('GET', PATH, signPeerRequest(key, 'GET', PATH, clock.now - 60_001)), 'stale');
  assert.equal(v.check('GET', PATH, signPeerRequest(key, 'GET', PATH, clock.now + 60_001)), 'stale');
  assert.equal(v.check('GET', PATH, signPeerRequest(key, 'GET', PATH, clock.now - 59_000)), undefined);
  assert.equal(v.check('GET', PATH, signPeerRequest(key, 'GET', PATH, clock.now + 59_000)), undefined);
});

test('a replayed nonce is refused while fresh, and refused as stale after', () => {
  const { v, clock } = verifier();
  const h = signPeerRequest(peerKey(TOKEN), 'GET', PATH, clock.now);
  assert.equal(v.check('GET', PATH, h), undefined);
  assert.equal(v.check('GET', PATH, h), 'replayed');
  clock.now += 30_000;
  assert.equal(v.check('GET', PATH, h), 'replayed');
  clock.now += 31_000;
  assert.equal(v.check('GET', PATH, h), 'stale');
});

test('a tampered method or path is refused', () => {
  const { v, clock } = verifier();
  const h = signPeerRequest(peerKey(TOKEN), 'HEAD', PATH, clock.now);
  assert.equal(v.check('GET', PATH, h), 'signature', 'a HEAD signature is no GET');
  assert.equal(v.check('HEAD', PATH.replace('ab', 'cd'), h), 'signature');
  assert.equal(v.check('HEAD', `${PATH}?x=1`, h), 'signature');
  assert.equal(v.check('HEAD', PATH, h), undefined, 'the untampered request still passes once');
});

test('missing and malformed headers are refused', () => {
  const { v, clock } = verifier();
  const good = signPeerRequest(peerKey(TOKEN), 'GET', PATH, clock.now);
  assert.equal(v.check('GET', PATH, undefined), 'missing');
  assert.equal(v.check('GET', PATH, ''), 'missing');
  for (const bad of [
    `Bearer ${TOKEN}`,
    good.replace('Larder-Peer', 'Larder-peer'),
    good.replace(/, s=.*/, ''),
    good.replace(/s=[^,]*$/, 's=AAAA'),
    good.replace(/t=\d+/, 't=-5'),
    good.replace(/n=[^,]*/, 'n=short'),
    `${good}, x=1`,
    ` ${good}`,
  ]) {
    assert.equal(v.check('GET', PATH, bad), 'malformed', bad);
  }
  assert.equal(v.check('GET', PATH, good), undefined);
});

test('remembered nonces are bounded: pruned by time, and refused as busy past the cap', () => {
  const { v, clock } = verifier({ maxNonces: 3 });
  const key = peerKey(TOKEN);
  for (let i = 0; i < 3; i++) assert.equal(v.check('GET', PATH, signPeerRequest(key, 'GET', PATH, clock.now)), undefined);
  assert.equal(v.check('GET', PATH, signPeerRequest(key, 'GET', PATH, clock.now)), 'busy');
  assert.equal(v.remembered(), 3);
  clock.now += 60_001;
  assert.equal(v.check('GET', PATH, signPeerRequest(key, 'GET', PATH, clock.now)), undefined);
  assert.equal(v.remembered(), 1, 'the expired nonces were forgotten');
});
