/**
 * Hugging Face Hub row of `npm run bench` (phase `eco`): the JS client
 * `@huggingface/hub` `snapshotDownload` of one model repository (regular
 * files plus LFS files behind a redirect to a separate CDN host, from the
 * tests' local Hub) going direct to the Hub, cold through a fresh Larder,
 * and warm through the same Larder into an empty client cache. Upstream
 * requests are those the Hub and its CDN received.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { snapshotDownload } from '@huggingface/hub';
import { FakeHub } from '../../test/helpers/hf/hub-server.js';
import type { EcoBench, EcoContext, EcoRow } from './contract.js';

const REGULAR = 12;
const LFS = 4;
const LFS_BYTES = 4 * 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export const huggingfaceBench: EcoBench = {
  ecosystem: 'huggingface',
  async run(ctx: EcoContext): Promise<EcoRow[]> {
    const work = join(ctx.workDir, 'eco-huggingface');
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const hub = new FakeHub();
    await hub.start();
    const repo = hub.repos.add('bench/model');
    const files = [
      ...Array.from({ length: REGULAR }, (_, i) => ({ path: `config/part-${i}.json`, body: randomBytes(8 * 1024 + i).toString('base64') })),
      ...Array.from({ length: LFS }, (_, i) => ({ path: `weights/shard-${i}.safetensors`, body: randomBytes(LFS_BYTES), lfs: true })),
    ];
    hub.repos.commit(repo, files);
    let n = 0;
    const fresh = (): string => join(work, `client-${n++}`);
    const direct: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    let coldRequests = 0;
    let warmRequests = 0;
    let peak = 0;
    const debug = console.debug;
    console.debug = () => undefined; // the client logs every file it downloads
    try {
      for (let round = 0; round < ctx.rounds; round++) {
        direct.push(await timed(() => snapshotDownload({ repo: 'bench/model', hubUrl: hub.url, cacheDir: fresh() })));
        const larder = await ctx.startLarder({ hub: { type: 'huggingface', url: hub.url } });
        try {
          const hubUrl = `${larder.origin}/hf`;
          const before = hub.seen.length;
          cold.push(await timed(() => snapshotDownload({ repo: 'bench/model', hubUrl, cacheDir: fresh() })));
          const mid = hub.seen.length;
          warm.push(await timed(() => snapshotDownload({ repo: 'bench/model', hubUrl, cacheDir: fresh() })));
          coldRequests = mid - before;
          warmRequests = hub.seen.length - mid;
          peak = Math.max(peak, larder.memory.peak);
        } finally {
          await larder.stop();
        }
        ctx.log(
          `huggingface round ${round + 1}: direct ${direct.at(-1)?.toFixed(0)} ms, cold ${cold.at(-1)?.toFixed(0)} ms, warm ${warm.at(-1)?.toFixed(0)} ms`,
        );
      }
    } finally {
      console.debug = debug;
      await hub.stop();
      await rm(work, { recursive: true, force: true });
    }
    return [
      {
        ecosystem: 'huggingface',
        flow: `snapshotDownload (${REGULAR} regular files, ${LFS} LFS files of ${LFS_BYTES / 1024 / 1024} MiB via a CDN redirect)`,
        directMs: median(direct),
        coldMs: median(cold),
        warmMs: median(warm),
        coldUpstreamRequests: coldRequests,
        warmUpstreamRequests: warmRequests,
        larderPeakRss: peak,
      },
    ];
  },
};
