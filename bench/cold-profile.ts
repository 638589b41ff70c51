/**
 * Where the cold time goes (issue 13, point 11), for the fill pipeline:
 *
 *   node --import tsx bench/cold-profile.ts [--no-build] [--only npm,oci,bigdoc] [--rounds N] [--delay-ms N] [--out DIR]
 *
 * npm: the fixture upstream behind the delay proxy (20 ms). Per round, a cold
 * `npm ci` direct and through a fresh Larder run with `--cpu-prof`; the
 * profile is cut to the install's window and summarised (self time by file
 * and function, idle, GC), and the proxy counts upstream connections and
 * responses on each side. Then a fresh Larder under strace (fsync, fdatasync,
 * rename: counts and time inside them; that run is not timed), and the
 * first-byte probe: every locked tarball GET in turn, cold through a fresh
 * Larder and direct, bare and +20 ms, so the time each cold request adds is
 * known per request.
 * OCI: the benchmark images behind a counting proxy (no delay); per image a
 * cold `skopeo copy --all` direct and through a Larder run with
 * `--cpu-prof`, the same strace run, and first-byte probes of every
 * manifest of the small images and of every layer.
 * Big document: one cold GET of the 18 MiB packument under `--cpu-prof`.
 * Writes the text report to stdout and DIR/report.json (default bench/.work/profile).
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSkopeoSandbox } from '../test/helpers/oci/push.js';
import { stats, timeFirstBytes, traceSyscalls, type FirstByte } from './cold-probes.js';
import { BIG_DOC_NAME, startBigDocUpstream } from './bigdoc.js';
import { formatSummary, monotonicMicros, summarise } from './cpu-profile.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { prepareApp, timeNpmCi } from './npm-ci.js';
import { startOciUpstream, timeCopies, type OciPull } from './oci-images.js';
import { startLarder, startLarderWith, startUpstream, type BenchServer, type LarderRemotes } from './servers.js';
import { buildDaemon, requireDebianTools } from './setup.js';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const WORK = join(BENCH, '.work');
const { values: flags } = parseArgs({
  options: {
    'no-build': { type: 'boolean', default: false },
    only: { type: 'string', default: 'npm,oci,bigdoc' },
    rounds: { type: 'string', default: '2' },
    'delay-ms': { type: 'string', default: '20' },
    out: { type: 'string', default: join(WORK, 'profile') },
  },
});
const ROUNDS = Number(flags.rounds);
const DELAY = Number(flags['delay-ms']);
const OUT = flags.out;
const report: Record<string, unknown> = {};
const say = (line: string): void => console.log(line);
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const SYSCALLS = ['fsync', 'fdatasync', 'rename', 'renameat', 'renameat2'];

/** Runs `body` against a Larder started with `--cpu-prof` and returns the profile summary of the body's window. */
async function profiled(name: string, start: (args: string[]) => Promise<BenchServer>, body: (s: BenchServer) => Promise<void>): Promise<string> {
  const dir = join(OUT, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const s = await start(['--cpu-prof', '--cpu-prof-dir', dir]);
  let from = 0;
  let to = 0;
  try {
    from = monotonicMicros();
    await body(s);
    to = monotonicMicros();
  } finally {
    s.memory.sample();
    report[`${name}.peakRssMiB`] = s.memory.peak / 2 ** 20;
    await s.stop();
  }
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return `${name}: no profile written`;
  const summary = await summarise(join(dir, file), from, to);
  report[`${name}.profile`] = summary;
  return formatSummary(`${name} (${join(dir, file)})`, summary);
}

/** Runs `body` against a Larder under strace and returns the syscall counts. */
async function traced(name: string, start: () => Promise<BenchServer>, body: (s: BenchServer) => Promise<void>): Promise<string> {
  const s = await start();
  try {
    const trace = await traceSyscalls(s.child.pid ?? 0, SYSCALLS, join(OUT, `${name}.strace`));
    await body(s);
    const counts = await trace.stop();
    report[`${name}.syscalls`] = counts;
    return `${name} syscalls (strace, untimed run): ` + Object.entries(counts).map(([k, c]) => `${k} ${c.calls} calls, ${(c.seconds * 1000).toFixed(0)} ms inside (max ${(c.maxSeconds * 1000).toFixed(1)} ms)`).join('; ');
  } finally {
    await s.stop();
  }
}

function compareFirstBytes(label: string, larder: FirstByte[], direct: FirstByte[]): string {
  const h = stats(larder.map((r) => r.headMs));
  const d = stats(direct.map((r) => r.headMs));
  const added = stats(larder.map((r, i) => r.headMs - (direct[i]?.headMs ?? 0)));
  const tl = stats(larder.map((r) => r.totalMs));
  const td = stats(direct.map((r) => r.totalMs));
  report[`firstBytes.${label}`] = { larder: h, direct: d, added, totalLarder: tl, totalDirect: td };
  return `${label}: ${larder.length} sequential GETs; first byte median ${ms(h.median)} (p90 ${ms(h.p90)}) vs direct ${ms(d.median)} (p90 ${ms(d.p90)}): added median ${ms(added.median)}, p90 ${ms(added.p90)}; complete, summed: ${ms(tl.sum)} vs ${ms(td.sum)}`;
}

async function npmSection(cli: string): Promise<void> {
  const upstream = await startUpstream(BENCH, join(WORK, 'fixture'));
  const proxy: DelayProxy = await startDelayProxy(upstream.url, DELAY);
  try {
    const app = await prepareApp(WORK, upstream.fixture, upstream.url);
    const lock = JSON.parse(await readFile(join(app.dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string }> };
    const tarballs = Object.values(lock.packages).flatMap((p) => (p.resolved ? [new URL(p.resolved).pathname] : []));
    const via = `${proxy.origin}/`;
    for (let round = 1; round <= ROUNDS; round++) {
      proxy.resetStats();
      const direct = await timeNpmCi(app, WORK, via);
      const d = proxy.stats();
      let cold = 0;
      const text = await profiled(`npm-cold-${round}`, (args) => startLarder(cli, WORK, via, args), async (s) => {
        proxy.resetStats();
        cold = await timeNpmCi(app, WORK, s.registry);
      });
      const l = proxy.stats();
      report[`npm.round${round}`] = { directMs: direct, larderColdMs: cold, upstreamDirect: d, upstreamLarder: l };
      say(`npm round ${round} (+${DELAY} ms): cold npm ci direct ${direct} ms, through Larder ${cold} ms (${(cold / direct).toFixed(2)}x; Larder under --cpu-prof)`);
      say(`  upstream: direct ${d.connections} connections, ${d.responses} responses, ${(d.bytesDown / 2 ** 20).toFixed(1)} MiB; Larder ${l.connections} connections, ${l.responses} responses, ${(l.bytesDown / 2 ** 20).toFixed(1)} MiB`);
      say(text);
    }
    say(await traced('npm-strace', () => startLarder(cli, WORK, via), async (s) => void (await timeNpmCi(app, WORK, s.registry))));
    for (const [label, base] of [['npm tarballs, bare loopback', upstream.url], [`npm tarballs, +${DELAY} ms`, via]] as const) {
      const s = await startLarder(cli, WORK, base);
      try {
        const direct = await timeFirstBytes(base, tarballs);
        const larder = await timeFirstBytes(s.origin, tarballs.map((p) => `/npm${p}`));
        if (larder.some((r) => r.status !== 200)) throw new Error(`${label}: a tarball through Larder was not 200`);
        say(compareFirstBytes(label, larder, direct));
      } finally {
        await s.stop();
      }
    }
  } finally {
    await proxy.close();
    await upstream.stop();
  }
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Every manifest of the small images (by tag, then each child by digest), cold through a fresh Larder and direct. */
async function manifestProbe(cli: string, origin: string, remotes: LarderRemotes, pulls: readonly OciPull[]): Promise<string> {
  const paths: string[] = [];
  for (const p of pulls) {
    paths.push(`/v2/${p.repo}/manifests/${p.tag}`);
    const doc = (await (await fetch(`${origin}/v2/${p.repo}/manifests/${p.tag}`, { headers: { accept: MANIFEST_ACCEPT } })).json()) as { manifests?: Array<{ digest: string }> };
    for (const child of doc.manifests ?? []) paths.push(`/v2/${p.repo}/manifests/${child.digest}`);
  }
  const s = await startLarderWith(cli, WORK, remotes);
  try {
    const direct = await timeFirstBytes(origin, paths, { accept: MANIFEST_ACCEPT });
    const larder = await timeFirstBytes(s.origin, paths.map((p) => p.replace('/v2/', '/v2/docker.io/')), { accept: MANIFEST_ACCEPT });
    return compareFirstBytes(`OCI manifests (${paths.length}, by tag and by digest)`, larder, direct);
  } finally {
    await s.stop();
  }
}

async function ociSection(cli: string): Promise<void> {
  const up = await startOciUpstream(WORK);
  const proxy = await startDelayProxy(up.registry.url, 0);
  const sandbox = await createSkopeoSandbox();
  const remotes = { hub: { type: 'oci', url: proxy.origin, host: 'docker.io' } };
  try {
    const dest = join(WORK, 'oci-dest');
    for (let round = 1; round <= ROUNDS; round++) {
      const direct: number[] = [];
      const cold: number[] = [];
      proxy.resetStats();
      for (const p of up.pulls) direct.push(await timeCopies(sandbox, proxy.origin.slice(7), [p], dest));
      const d = proxy.stats();
      let l = d;
      const text = await profiled(`oci-cold-${round}`, (args) => startLarderWith(cli, WORK, remotes, {}, args), async (s) => {
        proxy.resetStats();
        for (const p of up.pulls) cold.push(await timeCopies(sandbox, `${s.origin.slice(7)}/docker.io`, [p], dest));
        l = proxy.stats();
      });
      report[`oci.round${round}`] = { pulls: up.pulls, directMs: direct, larderColdMs: cold, upstreamDirect: d, upstreamLarder: l };
      say(`OCI round ${round}: per image (direct / Larder cold, ms): ` + up.pulls.map((p, i) => `${p.tag} ${direct[i]}/${cold[i]}`).join(', '));
      say(`  total ${direct.reduce((a, b) => a + b, 0)} / ${cold.reduce((a, b) => a + b, 0)} ms; upstream: direct ${d.connections} connections, ${d.responses} responses; Larder ${l.connections} connections, ${l.responses} responses`);
      say(text);
    }
    say(await traced('oci-strace', () => startLarderWith(cli, WORK, remotes), async (s) => void (await timeCopies(sandbox, `${s.origin.slice(7)}/docker.io`, up.pulls, dest))));
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
    const layers: string[] = [];
    for (const p of up.pulls.filter((x) => x.bytes > 2 ** 20)) {
      const m = (await (await fetch(`${up.registry.url}/v2/${p.repo}/manifests/${p.tag}`, { headers: accept })).json()) as { layers: Array<{ digest: string }> };
      for (const layer of m.layers) layers.push(`/v2/${p.repo}/blobs/${layer.digest}`);
    }
    say(await manifestProbe(cli, proxy.origin, remotes, up.pulls.filter((x) => x.bytes <= 2 ** 20)));
    const s = await startLarderWith(cli, WORK, remotes);
    try {
      const direct = await timeFirstBytes(proxy.origin, layers);
      const larder = await timeFirstBytes(s.origin, layers.map((p) => p.replace('/v2/', '/v2/docker.io/')));
      say(compareFirstBytes(`OCI layers (${layers.length}, ${(larder.reduce((a, r) => a + r.bytes, 0) / 2 ** 20).toFixed(0)} MiB)`, larder, direct));
      say('  per layer, MiB/s direct / Larder cold: ' + larder.map((r, i) => `${(r.bytes / 2 ** 20).toFixed(0)} MiB ${(direct[i]!.bytes / 2 ** 20 / (direct[i]!.totalMs / 1000)).toFixed(0)}/${(r.bytes / 2 ** 20 / (r.totalMs / 1000)).toFixed(0)}`).join(', '));
    } finally {
      await s.stop();
    }
  } finally {
    await sandbox.cleanup();
    await proxy.close();
    await up.stop();
  }
}

/** One cold GET of the 18 MiB packument through a Larder run with `--cpu-prof`. */
async function bigDocSection(cli: string): Promise<void> {
  const up = await startBigDocUpstream();
  try {
    const remotes = { big: { type: 'npm', url: up.origin, ttl: '1h' } };
    let took = 0;
    const text = await profiled('bigdoc-cold', (args) => startLarderWith(cli, WORK, remotes, { npm: { default: 'big' } }, args), async (s) => {
      const t0 = performance.now();
      await (await fetch(`${s.registry}${BIG_DOC_NAME}`)).arrayBuffer();
      took = performance.now() - t0;
    });
    const t0 = performance.now();
    await (await fetch(`${up.origin}/${BIG_DOC_NAME}`)).arrayBuffer();
    say(`big document ${(up.bytes / 2 ** 20).toFixed(1)} MiB: cold GET through Larder ${took.toFixed(0)} ms, direct ${(performance.now() - t0).toFixed(0)} ms\n${text}`);
  } finally {
    up.server.closeAllConnections();
    up.server.close();
  }
}

async function main(): Promise<void> {
  requireDebianTools();
  await mkdir(OUT, { recursive: true });
  const cli = flags['no-build'] ? join(WORK, 'dist', 'daemon', 'cli.js') : await buildDaemon(join(BENCH, '..'), join(WORK, 'dist'), (l) => console.error(l));
  const only = new Set(flags.only.split(','));
  if (only.has('npm')) await npmSection(cli);
  if (only.has('oci')) await ociSection(cli);
  if (only.has('bigdoc')) await bigDocSection(cli);
  await writeFile(join(OUT, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  say(`written: ${join(OUT, 'report.json')}`);
}

main().catch((err: unknown) => {
  console.error('cold profile failed:', err);
  process.exitCode = 1;
});
