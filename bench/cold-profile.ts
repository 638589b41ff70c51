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
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH, report, say, settings, WORK } from './cold-measure.js';
import { npmSection } from './cold-profile-npm.js';
import { bigDocSection, ociSection } from './cold-profile-oci.js';
import { buildDaemon, requireDebianTools } from './setup.js';

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
settings.out = OUT;

async function main(): Promise<void> {
  requireDebianTools();
  await mkdir(OUT, { recursive: true });
  const cli = flags['no-build']
    ? join(WORK, 'dist', 'daemon', 'cli.js')
    : await buildDaemon(join(BENCH, '..'), join(WORK, 'dist'), (l) => console.error(l));
  const only = new Set(flags.only.split(','));
  if (only.has('npm')) await npmSection(cli, ROUNDS, DELAY);
  if (only.has('oci')) await ociSection(cli, ROUNDS);
  if (only.has('bigdoc')) await bigDocSection(cli);
  await writeFile(join(OUT, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  say(`written: ${join(OUT, 'report.json')}`);
}

main().catch((err: unknown) => {
  console.error('cold profile failed:', err);
  process.exitCode = 1;
});
