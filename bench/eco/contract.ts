/**
 * The ecosystem rows of `npm run bench` (phase `eco`): each ecosystem added
 * as a protocol plug-in brings one module here (listed in bench/eco/index.ts)
 * that measures its real client, or a client-shaped HTTP flow where the
 * machine has no client, cold through a fresh Larder and warm (upstream
 * requests counted), against the same flow going direct to the upstream.
 */
import type { BenchServer, LarderRemotes } from '../servers.js';

export interface EcoContext {
  /** Scratch folder of this run (bench/.work); make a sub-folder of your own. */
  workDir: string;
  /** Rounds to take the median of (cold: a fresh Larder per round). */
  rounds: number;
  log(line: string): void;
  /** Starts the built daemon with a fresh data dir, these remotes and extra top-level config. */
  startLarder(remotes: LarderRemotes, extra?: Record<string, unknown>): Promise<BenchServer>;
}

/** One measured flow; times are medians over the rounds, in milliseconds. */
export interface EcoRow {
  /** e.g. "cargo". */
  ecosystem: string;
  /** What ran, e.g. "cargo fetch (12 crates)". */
  flow: string;
  directMs: number;
  coldMs: number;
  warmMs: number;
  /** Upstream requests of one cold run through Larder, and of one warm run (0 while fresh). */
  coldUpstreamRequests: number;
  warmUpstreamRequests: number;
  /** Peak RSS of the Larder instances, bytes. */
  larderPeakRss: number;
}

export interface EcoBench {
  readonly ecosystem: string;
  run(ctx: EcoContext): Promise<EcoRow[]>;
}
