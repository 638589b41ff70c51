/**
 * Cargo rows of the `eco` phase: the real `cargo fetch` of a consumer with
 * 12 generated crates from a local sparse registry (downloads redirected to
 * a second origin, as crates.io's are), going direct to the registry,
 * through a fresh Larder (cold) and through the same Larder again (warm),
 * each from a fresh CARGO_HOME and without a Cargo.lock, so every run
 * resolves against the index and downloads every `.crate`. Upstream
 * requests are counted at the registry (index and download hosts).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cargoConfig, cargoVersion, runCargo, writeConsumer } from '../../test/helpers/cargo/cargo-tool.js';
import { buildCrate, type BuiltCrate } from '../../test/helpers/cargo/crates.js';
import { CargoRegistry } from '../../test/helpers/cargo/registry.js';
import type { EcoBench, EcoContext, EcoRow } from './contract.js';

const CRATES = 12;

function crates(): BuiltCrate[] {
  return Array.from({ length: CRATES }, (_, i) => {
    const name = `bench-c${String(i).padStart(2, '0')}`;
    // Incompressible filler of 16–60 KB, so downloads carry real bytes.
    const filler = randomBytes(8 * 1024 + i * 2 * 1024).toString('base64');
    const deps = i % 2 === 0 && i + 1 < CRATES ? [{ name: `bench-c${String(i + 1).padStart(2, '0')}`, req: '1' }] : [];
    return buildCrate({ name, version: '1.0.0', deps, lib: `// ${filler}\npub fn id() -> u32 { ${i} }\n` });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const directConfig = (indexUrl: string): string =>
  `[source.crates-io]\nreplace-with = "direct"\n\n[source.direct]\nregistry = "sparse+${indexUrl}"\n`;

/** One `cargo fetch` of the consumer (depending on every crate) from a fresh CARGO_HOME; its wall time. */
async function fetchOnce(ctx: EcoContext, dir: string, deps: Record<string, string>, config: string, home: string): Promise<number> {
  await writeConsumer({ dir, name: 'bench-app', deps, lib: 'pub fn f() {}\n' }, config);
  await rm(join(dir, 'Cargo.lock'), { force: true });
  const t0 = performance.now();
  const r = await runCargo(['fetch'], { cwd: dir, cargoHome: join(ctx.workDir, 'cargo-eco', home) });
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`cargo fetch failed: ${r.stderr.slice(-500)}`);
  return ms;
}

export const cargoBench: EcoBench = {
  ecosystem: 'cargo',
  async run(ctx) {
    const version = await cargoVersion();
    if (!version) throw new Error('no cargo on PATH');
    const built = crates();
    const deps = Object.fromEntries(built.map((c) => [c.name, '1']));
    const reg = await CargoRegistry.start(built);
    const requests = (): number => reg.index.seen.length + reg.static.seen.length;
    const dir = join(ctx.workDir, 'cargo-eco', 'app');
    const direct: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    let coldUpstream = 0;
    let warmUpstream = 0;
    let peak = 0;
    try {
      for (let round = 0; round < ctx.rounds; round++) {
        direct.push(await fetchOnce(ctx, dir, deps, directConfig(reg.indexUrl), `direct-${round}`));
        const larder = await ctx.startLarder({ crates: { type: 'cargo', url: reg.indexUrl, ttl: '1h' } }, { cargo: { default: 'crates' } });
        try {
          const before = requests();
          cold.push(await fetchOnce(ctx, dir, deps, cargoConfig(larder.origin), `cold-${round}`));
          coldUpstream = requests() - before;
          const between = requests();
          warm.push(await fetchOnce(ctx, dir, deps, cargoConfig(larder.origin), `warm-${round}`));
          warmUpstream = requests() - between;
          larder.memory.sample();
          peak = Math.max(peak, larder.memory.peak);
        } finally {
          await larder.stop();
        }
        ctx.log(
          `cargo round ${round + 1}: direct ${direct[round]!.toFixed(0)} ms, cold ${cold[round]!.toFixed(0)} ms, warm ${warm[round]!.toFixed(0)} ms`,
        );
      }
    } finally {
      await reg.stop();
      await rm(join(ctx.workDir, 'cargo-eco'), { recursive: true, force: true });
    }
    const row: EcoRow = {
      ecosystem: 'cargo',
      flow: `cargo fetch (${CRATES} crates, ${version.split(' ')[1] ?? version})`,
      directMs: median(direct),
      coldMs: median(cold),
      warmMs: median(warm),
      coldUpstreamRequests: coldUpstream,
      warmUpstreamRequests: warmUpstream,
      larderPeakRss: peak,
    };
    return [row];
  },
};
