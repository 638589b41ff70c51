/**
 * Two Larder builds side by side on the OCI phase's cold copies:
 * `node --import tsx bench/ab-oci.ts --a <dist-a> --b <dist-b> [--rounds N]`
 * (a dist is a `tsc -p tsconfig.build.json --outDir <dir>` output). Per
 * round, order rotating, one cold `skopeo copy --all` of every benchmark
 * image straight from the upstream and through a fresh Larder of each
 * build; per image times, paired ratios to direct, and (first round) the
 * upstream requests each side made, read from the registry's access log.
 * `--a-arg FLAG` / `--b-arg FLAG` (repeatable) add a node flag to one side
 * (the same dist twice compares a V8 flag).
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createSkopeoSandbox } from '../test/helpers/oci/push.js';
import { startOciUpstream, timeCopies } from './oci-images.js';
import { median } from './report.js';
import { startLarderWith } from './servers.js';

const WORK = join(import.meta.dirname, '.work');
const { values: flags } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    'a-arg': { type: 'string', multiple: true, default: [] },
    'b-arg': { type: 'string', multiple: true, default: [] },
  },
});
const builds = { a: flags.a && resolve(flags.a), b: flags.b && resolve(flags.b) };
if (!builds.a || !builds.b) throw new Error('--a <dist> and --b <dist> are required');
const rounds = Number(flags.rounds);

const up = await startOciUpstream(WORK);
const sandbox = await createSkopeoSandbox();
const dest = join(WORK, 'oci-ab-dest');
type Side = 'direct' | 'a' | 'b';
const times: Record<Side, number[][]> = { direct: [], a: [], b: [] };
const perImage = async (host: string): Promise<number[]> => {
  const out: number[] = [];
  for (const p of up.pulls) out.push(await timeCopies(sandbox, host, [p], dest));
  return out;
};
const requestsOf = (): string => {
  const counts = new Map<string, number>();
  for (const r of up.registry.requests()) {
    const kind = /\/manifests\//.test(r.path) ? 'manifest' : /\/blobs\//.test(r.path) ? 'blob' : r.path;
    const k = `${r.method} ${kind} ${r.status}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k} ×${n}`).join(', ');
};
const run = async (side: Side, round: number): Promise<void> => {
  up.registry.clearRequests();
  if (side === 'direct') times.direct.push(await perImage(up.registry.host));
  else {
    const remotes = { hub: { type: 'oci', url: up.registry.url, host: 'docker.io' } };
    const s = await startLarderWith(join(builds[side]!, 'daemon', 'cli.js'), WORK, remotes, {}, flags[`${side}-arg`]);
    try {
      times[side].push(await perImage(`${s.origin.slice('http://'.length)}/docker.io`));
    } finally {
      s.memory.sample();
      console.log(`  ${side} peak RSS ${(s.memory.peak / 2 ** 20).toFixed(1)} MiB`);
      await s.stop();
    }
  }
  if (round === 0) console.log(`  ${side} upstream: ${requestsOf()}`);
};
try {
  const sides: Side[] = ['direct', 'a', 'b'];
  for (let round = 0; round < rounds; round++) {
    const k = round % sides.length;
    for (const side of [...sides.slice(k), ...sides.slice(0, k)]) await run(side, round);
    const sum = (xs: number[] | undefined): number => (xs ?? []).reduce((x, y) => x + y, 0);
    console.log(`round ${round + 1}: ${sides.map((s) => `${s} ${sum(times[s][round])} ms [${times[s][round]?.join(' ')}]`).join(' · ')}`);
  }
  const sum = (xs: number[]): number => xs.reduce((x, y) => x + y, 0);
  for (const side of ['a', 'b'] as const) {
    const ratios = times[side].map((xs, i) => sum(xs) / sum(times.direct[i]!));
    console.log(
      `${side}: median ${median(times[side].map(sum))} ms, ratio to direct ${median(ratios).toFixed(2)} ` +
        `[${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`,
    );
  }
  const ba = times.b.map((xs, i) => sum(xs) / sum(times.a[i]!));
  // The images under 1 MiB are bound by manifest and small-blob latency, not by bytes.
  const small = up.pulls.flatMap((p, i) => (p.bytes < 2 ** 20 ? [i] : []));
  const part = (xs: number[]): number => sum(small.map((i) => xs[i] ?? 0));
  const smallBa = times.b.map((xs, i) => part(xs) / part(times.a[i]!));
  console.log(
    `images under 1 MiB, b/a: median ${median(smallBa).toFixed(3)} [${Math.min(...smallBa).toFixed(3)}–${Math.max(...smallBa).toFixed(3)}]`,
  );
  console.log(`b/a: median ${median(ba).toFixed(3)} [${Math.min(...ba).toFixed(3)}–${Math.max(...ba).toFixed(3)}]`);
  console.log(`direct median ${median(times.direct.map(sum))} ms`);
} finally {
  await sandbox.cleanup();
  await up.stop();
}
