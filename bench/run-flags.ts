/**
 * The flags of `npm run bench` (bench/run.ts), parsed and checked once at
 * start-up, and the process priority that --nice sets.
 *
 * Flags: --seconds N (per measured load run, default 5), --rounds N (load,
 * default 2), --warmup N (seconds, default 2), --connections N (default 32),
 * --ci-rounds N (default 3), --oci-rounds N (default 3), --delay-ms N
 * (default 20), --only npm,load,oci,bigdoc,eco (phases, default all),
 * --no-build (reuse bench/.work/dist), --max-wait N (seconds the run may wait
 * in total for other work to drop below 0.3 cores, default 120),
 * --larder-cpu-prof DIR (profile the load-phase Larder), --nice=N.
 */
import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parseArgs } from 'node:util';
import { QuietBudget } from './proc.js';

/** The phases --only may name, in the order they run. */
export const PHASES = ['npm', 'load', 'oci', 'bigdoc', 'eco'] as const;

export const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'ci-rounds': { type: 'string', default: '3' },
    'oci-rounds': { type: 'string', default: '3' },
    'delay-ms': { type: 'string', default: '20' },
    only: { type: 'string', default: PHASES.join(',') },
    'no-build': { type: 'boolean', default: false },
    'max-wait': { type: 'string', default: '120' },
    'larder-cpu-prof': { type: 'string' },
    nice: { type: 'string', default: '0' },
  },
});
const num = (v: string, name: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`expected --${name} to be a positive integer, got ${v}`);
  return n;
};
export const SECONDS = num(flags.seconds, 'seconds');
export const ROUNDS = num(flags.rounds, 'rounds');
export const WARMUP = num(flags.warmup, 'warmup');
export const CONNECTIONS = num(flags.connections, 'connections');
export const CI_ROUNDS = num(flags['ci-rounds'], 'ci-rounds');
export const OCI_ROUNDS = num(flags['oci-rounds'], 'oci-rounds');
export const DELAY_MS = num(flags['delay-ms'], 'delay-ms');
export const ONLY = new Set(flags.only.split(',').map((p) => p.trim()));
for (const p of ONLY) {
  if (!(PHASES as readonly string[]).includes(p)) throw new TypeError(`--only: unknown phase ${p} (phases: ${PHASES.join(', ')})`);
}
export const QUIET = new QuietBudget(0.3, Number(flags['max-wait']) * 1000);
export const NICE = Number(flags.nice);

/**
 * Children inherit the priority, so servers, load generator and npm all run
 * at it. With autogroup scheduling nice only ranks processes of one session,
 * so the session's autogroup gets the same value (Linux, root).
 */
export function applyNice(nice: number, log: (line: string) => void): void {
  setPriority(nice);
  try {
    writeFileSync('/proc/self/autogroup', String(nice));
  } catch {
    log('note: could not set the autogroup priority; --nice only ranks the processes of this session');
  }
}
