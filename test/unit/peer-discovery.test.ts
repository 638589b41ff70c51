import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLarderError } from '../../daemon/core/errors.js';
import { MergedPeerDirectory, PeerSet, StaticPeerDirectory, normalizePeerUrl } from '../../daemon/peers/discovery.js';
import { openPeerDirectory, peerUrlOf, PEER_PROTOCOL_VERSION } from '../../daemon/peers/discovery-mdns.js';

/** A directory a test drives by hand (stands in for mDNS). */
class ManualDirectory extends PeerSet {
  closed = false;
  put(peers: string[]): void {
    this.set(peers);
  }
  override async close(): Promise<void> {
    this.closed = true;
    await super.close();
  }
}

test('static directory: normalised, deduplicated, sorted', () => {
  const d = new StaticPeerDirectory(['http://10.1.0.3:7420/', 'http://10.1.0.2:7420', 'http://10.1.0.3:7420']);
  assert.deepEqual(d.list(), ['http://10.1.0.2:7420', 'http://10.1.0.3:7420']);
});

test('static directory: a URL that is not an http(s) base URL is a config error', () => {
  for (const bad of ['10.1.0.2:7420', 'ftp://10.1.0.2', 'http://u:p@10.1.0.2:7420', 'http://10.1.0.2:7420/?x=1']) {
    assert.throws(
      () => new StaticPeerDirectory([bad]),
      (e: unknown) => isLarderError(e) && e.code === 'E_CONFIG',
      bad,
    );
  }
  assert.equal(normalizePeerUrl('https://peer.lan:8443//'), 'https://peer.lan:8443');
});

test('merged directory: union of its sources, change only when the union changes', async () => {
  const mdns = new ManualDirectory();
  const merged = new MergedPeerDirectory([mdns, new StaticPeerDirectory(['http://10.1.0.2:7420'])]);
  const seen: string[][] = [];
  merged.on('change', (p) => seen.push(p));
  assert.deepEqual(merged.list(), ['http://10.1.0.2:7420']);
  mdns.put(['http://10.1.0.9:7420']);
  mdns.put(['http://10.1.0.9:7420', 'http://10.1.0.2:7420']); // already known statically: no change
  mdns.put([]);
  assert.deepEqual(seen, [['http://10.1.0.2:7420', 'http://10.1.0.9:7420'], ['http://10.1.0.2:7420']]);
  await merged.close();
  assert.equal(mdns.closed, true);
  mdns.put(['http://10.1.0.7:7420']);
  assert.equal(seen.length, 2, 'no change events after close');
});

test('peerUrlOf: ignores itself, other versions and unusable answers; prefers the sender address', () => {
  const txt = { id: 'b', scheme: 'http', v: PEER_PROTOCOL_VERSION };
  const base = { port: 7420, txt, addresses: ['10.77.0.3'], referer: { address: '10.77.0.2', family: 'IPv4' } };
  assert.equal(peerUrlOf(base, 'a'), 'http://10.77.0.2:7420');
  assert.equal(peerUrlOf({ ...base, referer: { address: 'fe80::1', family: 'IPv6' } }, 'a'), 'http://10.77.0.3:7420');
  assert.equal(peerUrlOf({ ...base, txt: { ...txt, scheme: 'https' } }, 'a'), 'https://10.77.0.2:7420');
  assert.equal(peerUrlOf(base, 'b'), undefined, 'our own advertisement');
  assert.equal(peerUrlOf({ ...base, txt: { ...txt, v: '2' } }, 'a'), undefined, 'another protocol version');
  assert.equal(peerUrlOf({ ...base, txt: {} }, 'a'), undefined, 'no daemon id');
  assert.equal(peerUrlOf({ ...base, port: 0 }, 'a'), undefined);
  assert.equal(peerUrlOf({ port: 7420, txt, addresses: ['fe80::1'] }, 'a'), undefined, 'no IPv4 address');
});

test('openPeerDirectory: static alone, and mdns without an identity is a config error', async () => {
  const d = openPeerDirectory({ discover: 'static', static: ['http://10.1.0.2:7420'] });
  assert.ok(d instanceof StaticPeerDirectory);
  assert.deepEqual(d.list(), ['http://10.1.0.2:7420']);
  await d.close();
  assert.throws(
    () => openPeerDirectory({ discover: ['mdns', 'static'] }),
    (e: unknown) => isLarderError(e) && e.code === 'E_CONFIG',
  );
  assert.throws(
    () => openPeerDirectory({ discover: [] }),
    (e: unknown) => isLarderError(e) && e.code === 'E_CONFIG',
  );
});
