/**
 * RubyGems row of the `eco` phase: Debian's `bundle install` (bundler 2.3)
 * of a Gemfile needing a small tree of gems built with `gem build`, served
 * by a local compact-index gem server. Direct: bundler's mirror setting
 * points at the gem server itself; cold: at a fresh Larder (one per round);
 * warm: the same Larder again, from a fresh bundler home. Upstream requests
 * are counted at the gem server.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildGemRepo, type GemDef } from '../../test/helpers/gems/build.js';
import { ruby } from '../../test/helpers/gems/ruby.js';
import { GemServer } from '../../test/helpers/gems/server.js';
import type { EcoBench, EcoContext, EcoRow } from './contract.js';

/** Ten gems: `app-core` needs five libraries, two of which need more. */
const GEMS: GemDef[] = [
  {
    name: 'app-core',
    version: '1.0.0',
    deps: [
      ['lib-a', '~> 1.0'],
      ['lib-b', '>= 2'],
      ['lib-c', '< 4'],
      ['lib-d', '>= 0'],
      ['lib-e', '>= 1.1'],
    ],
  },
  { name: 'lib-a', version: '1.0.0', deps: [['util-x', '>= 1']] },
  {
    name: 'lib-a',
    version: '1.2.0',
    deps: [
      ['util-x', '>= 1'],
      ['util-y', '>= 0'],
    ],
  },
  { name: 'lib-b', version: '2.0.0' },
  { name: 'lib-c', version: '3.1.0', deps: [['util-z', '>= 0']] },
  { name: 'lib-d', version: '0.9.0' },
  { name: 'lib-e', version: '1.1.0' },
  { name: 'util-x', version: '1.0.0' },
  { name: 'util-y', version: '0.1.0' },
  { name: 'util-z', version: '5.0.0' },
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
};

export const gemsBench: EcoBench = {
  ecosystem: 'gems',
  async run(ctx: EcoContext): Promise<EcoRow[]> {
    const dir = join(ctx.workDir, `gems-${Date.now().toString(36)}`);
    await mkdir(dir, { recursive: true });
    const repo = await buildGemRepo(dir, GEMS);
    const up = await GemServer.start(repo.files);
    let n = 0;
    /** One `bundle install` in a fresh app and home, mirrored to `mirror`; its wall time. */
    const install = async (mirror: string): Promise<number> => {
      const app = join(dir, `app-${++n}`);
      const home = join(dir, `home-${n}`);
      await mkdir(app, { recursive: true });
      await mkdir(home, { recursive: true });
      await writeFile(join(app, 'Gemfile'), 'source "https://rubygems.org"\ngem "app-core"\n');
      for (const args of [
        ['config', 'set', '--local', 'mirror.https://rubygems.org', mirror],
        ['config', 'set', '--local', 'path', join(app, 'vendor')],
      ]) {
        const r = await ruby('bundle', args, { cwd: app, home });
        if (r.code !== 0) throw new Error(`bundle ${args.join(' ')}: ${r.stderr}`);
      }
      const t0 = performance.now();
      const r = await ruby('bundle', ['install', '--jobs', '4'], { cwd: app, home });
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`bundle install through ${mirror}: ${r.stderr}${r.stdout}`);
      return ms;
    };
    const direct: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    let coldRequests = 0;
    let warmRequests = 0;
    let peak = 0;
    try {
      for (let round = 0; round < ctx.rounds; round++) {
        direct.push(await install(`${up.url}/`));
        const larder = await ctx.startLarder({ rg: { type: 'gems', url: `${up.url}/`, ttl: '1h' } });
        try {
          const before = up.total;
          cold.push(await install(`${larder.origin}/gems/`));
          const mid = up.total;
          warm.push(await install(`${larder.origin}/gems/`));
          coldRequests = mid - before;
          warmRequests = up.total - mid;
          larder.memory.sample();
          peak = Math.max(peak, larder.memory.peak);
        } finally {
          await larder.stop();
        }
        ctx.log(
          `gems round ${round + 1}: direct ${direct.at(-1)!.toFixed(0)} ms, cold ${cold.at(-1)!.toFixed(0)} ms, warm ${warm.at(-1)!.toFixed(0)} ms`,
        );
      }
    } finally {
      await up.stop();
      await rm(dir, { recursive: true, force: true });
    }
    return [
      {
        ecosystem: 'gems',
        flow: `bundle install (${GEMS.length - 1} gems, bundler 2.3 mirror setting)`,
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
