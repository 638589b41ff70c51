/**
 * The upstream behind a rate-limited link, in a namespace of its own: a host
 * on the bridge gets the exact bytes through the link, and the upstream's
 * count of bytes served is what crossed it (what the peer tests will compare
 * with and without peers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createNetnsLab, netnsSkipReason, onLines } from '../helpers/netns.js';
import { blobBytes } from '../helpers/netns-upstream.js';
import { waitFor } from '../helpers/wait.js';

const skip = netnsSkipReason();
if (skip) console.log(`# skipping thin-link namespace test: ${skip}`);

const script = fileURLToPath(new URL('../helpers/netns-upstream.ts', import.meta.url));

const fetchDigest = (url: string): string =>
  `fetch(${JSON.stringify(url)}).then(r => r.arrayBuffer()).then(b => console.log(require('node:crypto').createHash('sha256').update(Buffer.from(b)).digest('hex')))`;

test('a host fetches through the rate-limited link of the upstream namespace; the bytes served are counted', { skip }, async () => {
  const lab = await createNetnsLab(2);
  try {
    const [up, laptop] = lab.hosts;
    assert.ok(up && laptop);
    const child = up.spawn(process.execPath, ['--import', 'tsx', script, up.address, String(400_000)]);
    let url = '';
    onLines(child, (l) => {
      url = (JSON.parse(l) as { url: string }).url;
    });
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[upstream] ${d.toString()}`));
    await waitFor(() => url !== '', 20_000, 'the upstream namespace to listen');
    const size = 300_000;
    const want = createHash('sha256').update(blobBytes(size)).digest('hex');
    assert.equal(laptop.run(process.execPath, ['-e', fetchDigest(`${url}/blob/${size}`)]).trim(), want);
    const stats = laptop.run(process.execPath, ['-e', `fetch(${JSON.stringify(`${url}/_/stats`)}).then(r => r.text()).then(console.log)`]);
    assert.deepEqual(JSON.parse(stats), { bytes: size });
  } finally {
    await lab.close();
  }
});
