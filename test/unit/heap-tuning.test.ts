/**
 * `larder serve` caps V8's young generation (daemon/cli/heap.ts). A child
 * process churns through short-lived objects that keep ~10k of them alive
 * at a time, which makes V8 grow the young generation to its 2 × 16 MB
 * default; with the tuning it stops at 2 × SEMI_SPACE_TARGET_MB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { SEMI_SPACE_TARGET_MB } from '../../daemon/cli/heap.js';
import { runModuleProbe } from '../helpers/module-probe.js';

const HEAP = fileURLToPath(new URL('../../daemon/cli/heap.ts', import.meta.url));

const CHURN = `
const { tuneHeapForServe } = await import(${JSON.stringify(HEAP)});
const applied = tuneHeapForServe(process.env);
const { getHeapSpaceStatistics } = await import('node:v8');
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
let max = 0;
const ring = new Array(10000);
// Like a server answering requests: short synchronous bursts between turns of the event loop.
for (let round = 0; round < 6000; round++) {
  for (let i = 0; i < 1000; i++) ring[(round * 1000 + i) % ring.length] = { a: i, b: 'x' + i, c: [i, i + 1] };
  await new Promise((r) => setImmediate(r));
  max = Math.max(max, newSpace());
}
console.log(JSON.stringify({ applied, maxMb: max / 1048576 }));
`;

function churn(env: Record<string, string>): Promise<{ applied: boolean; maxMb: number }> {
  return runModuleProbe(CHURN, env);
}

test('the young generation stays at its cap under churn; LARDER_V8_TUNING=0 leaves V8 at its default', async () => {
  const [tuned, plain] = await Promise.all([churn({}), churn({ LARDER_V8_TUNING: '0' })]);
  assert.equal(tuned.applied, true);
  assert.equal(plain.applied, false);
  assert.ok(tuned.maxMb <= 2 * SEMI_SPACE_TARGET_MB, `tuned: ${tuned.maxMb} MB of young generation`);
  assert.ok(plain.maxMb > 2 * SEMI_SPACE_TARGET_MB, `untuned: ${plain.maxMb} MB (the churn must make V8 grow it, or this test proves nothing)`);
});
