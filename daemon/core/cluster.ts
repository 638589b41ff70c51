/**
 * Ports of cluster mode (several daemons acting as one cache, issue 18).
 * The core names no engine: the composition root wires etcd leases behind
 * `FillCoordinator` and the shared S3 index behind `SharedIndex`. Without
 * them (a single daemon) nothing here runs and the core is unchanged.
 */
import type { Entry } from './types.js';

/** This node's turn to fill a key; `release` ends it (the fill committed or failed). */
export interface FillTurn {
  release(): void;
}

/** Cross-node single-flight: at most one node fills a cold key; the others wait for it. */
export interface FillCoordinator {
  /**
   * Resolves once this node may fill `key` (waiting while another node holds
   * it); undefined when coordination is unavailable (the node fills alone:
   * per-node single-flight only).
   */
  turn(key: string, signal: AbortSignal): Promise<FillTurn | undefined>;
}

/** The cluster's shared index, of which this node's index is a local cache. */
export interface SharedIndex {
  /**
   * The shared entry of `key`, copied into this node's index (its bodies are
   * read from the shared blob tier on first use); undefined when there is
   * none or the shared index cannot be read.
   */
  adopt(key: string): Promise<Entry | undefined>;
}

export interface ClusterPorts {
  fills: FillCoordinator;
  index: SharedIndex;
}

/**
 * The cluster step of a miss: an entry another node committed is adopted
 * ('indexed'); otherwise this node's turn to fill (undefined: fill alone).
 * The shared index is read again once the turn is this node's: another node
 * may have filled the key and ended its turn between the first read and the
 * claim (it publishes before it ends its turn, so the second read sees it).
 */
export async function clusterTurn(cluster: ClusterPorts, key: string, signal: AbortSignal): Promise<FillTurn | 'indexed' | undefined> {
  if (await cluster.index.adopt(key)) return 'indexed';
  const turn = await cluster.fills.turn(key, signal);
  if (turn && (await cluster.index.adopt(key))) {
    turn.release();
    return 'indexed';
  }
  return turn;
}

/** Runs a fill in `turn`: the turn ends once `done(result)` settles (at once without it, or when `run` fails). */
export async function underTurn<T>(
  turn: FillTurn | undefined,
  run: () => Promise<T>,
  done: (result: T) => Promise<unknown> | undefined,
): Promise<T> {
  let result: T;
  try {
    result = await run();
  } catch (err) {
    turn?.release();
    throw err;
  }
  const settled = done(result);
  if (turn) {
    if (settled) void settled.then(turn.release.bind(turn), turn.release.bind(turn));
    else turn.release();
  }
  return result;
}
