/**
 * The namespace harness itself: a server in host A is reachable from host B
 * over the bridge by its 10.77 address, not from a namespace on no bridge,
 * and the root namespace holds none of the lab's addresses or links; close()
 * leaves no namespace behind, and leftovers of a dead run are cleaned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { cleanLeftoverNamespaces, createNetnsLab, netnsSkipReason, onLines } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const skip = netnsSkipReason();
if (skip) console.log(`# skipping network namespace tests: ${skip}`);

const namespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '');

const fetchScript = (url: string): string =>
  `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }).then(r => r.text()).then(t => console.log(t))`;

test('a server in host A answers host B over the bridge, and nothing outside the lab', { skip }, async () => {
  const t0 = Date.now();
  const lab = await createNetnsLab(2);
  const setupMs = Date.now() - t0;
  try {
    const [a, b] = lab.hosts;
    assert.ok(a && b);
    const server = a.spawn(process.execPath, [
      '-e',
      `const s = require('node:http').createServer((q, r) => r.end('hello from A')); s.listen(0, ${JSON.stringify(a.address)}, () => console.log(s.address().port));`,
    ]);
    let port = 0;
    onLines(server, (l) => {
      port = Number(l);
    });
    await waitFor(() => port > 0, 10_000, 'the server in host A to listen');
    const url = `http://${a.address}:${port}/`;
    assert.equal(b.run(process.execPath, ['-e', fetchScript(url)]).trim(), 'hello from A');
    assert.throws(() => lab.isolated().run(process.execPath, ['-e', fetchScript(url)]), 'a namespace on no bridge has no route to it');
    const rootAddresses = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((i) => i.address));
    assert.ok(!rootAddresses.some((x) => x.startsWith('10.77.')), 'the root namespace holds no lab address');
  } finally {
    const t1 = Date.now();
    await lab.close();
    console.log(`# netns lab of 2 hosts: setup ${setupMs} ms, teardown ${Date.now() - t1} ms`);
  }
  assert.ok(!namespaces().some((n) => n.startsWith(`larder-${process.pid}-`)), 'close() deleted every namespace');
});

test('leftovers of a run whose process is gone are deleted, live ones kept', { skip }, async () => {
  const dead = 'larder-4194304-1-0'; // above pid_max's default: no live process has it
  execFileSync('ip', ['netns', 'add', dead]);
  const lab = await createNetnsLab(1);
  try {
    assert.ok(!namespaces().includes(dead), 'the dead run’s namespace is gone');
    assert.ok(namespaces().includes(lab.hosts[0]?.ns ?? '?'));
    assert.deepEqual(cleanLeftoverNamespaces(), [], 'our own live namespaces are not touched');
  } finally {
    await lab.close();
    if (namespaces().includes(dead)) execFileSync('ip', ['netns', 'del', dead]);
  }
});
