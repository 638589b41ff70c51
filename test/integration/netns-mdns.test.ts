/**
 * mDNS discovery across the bridge, daemon-less: three hosts each run a
 * PeerDirectory (test/helpers/netns-peer.ts) advertising `_larder._tcp`.
 * Each sees the other two by their 10.77 addresses and never itself; one
 * that stops says goodbye and drops out of the others' lists; a static URL
 * is merged into what mDNS finds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createNetnsLab, netnsSkipReason, onLines, type NetnsHost } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const skip = netnsSkipReason();
if (skip) console.log(`# skipping mDNS namespace tests: ${skip}`);

const script = fileURLToPath(new URL('../helpers/netns-peer.ts', import.meta.url));
const PORT = 7420;

interface Peer {
  latest: string[];
  stop(): Promise<void>;
}

function runPeer(h: NetnsHost, id: string, statics: string[] = []): Peer {
  const child = h.spawn(process.execPath, ['--import', 'tsx', script, id, String(PORT), h.address, ...statics]);
  const peer: Peer = {
    latest: [],
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
  onLines(child, (line) => {
    peer.latest = (JSON.parse(line) as { peers: string[] }).peers;
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${id}] ${d.toString()}`));
  return peer;
}

/** waitFor, but the failure shows what each peer listed at the end. */
async function waitLists(ok: () => boolean, peers: Peer[], what: string): Promise<void> {
  try {
    await waitFor(ok, 30_000, what);
  } catch (e) {
    throw new Error(`${(e as Error).message}; lists seen: ${JSON.stringify(peers.map((p) => p.latest))}`);
  }
}

const url = (h: NetnsHost | undefined): string => `http://${h?.address}:${PORT}`;

test('three hosts find each other by mDNS across the bridge, not themselves; a stopped one drops out', { skip }, async () => {
  const lab = await createNetnsLab(3);
  try {
    const [a, b, c] = lab.hosts;
    assert.ok(a && b && c);
    const peers = [runPeer(a, 'a'), runPeer(b, 'b'), runPeer(c, 'c')];
    const expected = [
      [url(b), url(c)],
      [url(a), url(c)],
      [url(a), url(b)],
    ];
    await waitLists(
      () => peers.every((p, i) => JSON.stringify(p.latest) === JSON.stringify(expected[i])),
      peers,
      'every host to see the other two',
    );
    await peers[2]?.stop();
    await waitLists(
      () => JSON.stringify(peers[0]?.latest) === JSON.stringify([url(b)]) && JSON.stringify(peers[1]?.latest) === JSON.stringify([url(a)]),
      peers,
      'the stopped host to drop out of the others’ lists',
    );
    await Promise.all(peers.map((p) => p.stop()));
  } finally {
    await lab.close();
  }
});

test('discover: [mdns, static] merges a static URL into what mDNS finds', { skip }, async () => {
  const lab = await createNetnsLab(2);
  try {
    const [a, b] = lab.hosts;
    assert.ok(a && b);
    const staticPeer = 'http://10.99.0.5:7420';
    const pa = runPeer(a, 'a', [staticPeer]);
    const pb = runPeer(b, 'b');
    await waitLists(
      () => JSON.stringify(pa.latest) === JSON.stringify([staticPeer, url(b)].sort()),
      [pa, pb],
      'host A to list the static peer and host B',
    );
    await Promise.all([pa.stop(), pb.stop()]);
  } finally {
    await lab.close();
  }
});
