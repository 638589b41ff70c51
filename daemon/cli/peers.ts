/**
 * `larder peers`: the LAN peers this daemon asks for immutable blobs, with
 * their health (asked now, or left out until when and why), what each sent,
 * and today's share of misses that peers served.
 */
import type { PeersReport, PeersToday } from '../admin/contract.js';

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** "41 % of today's misses served by peers" (or that there were none). */
export function todayShare(t: PeersToday): string {
  if (t.misses === 0) return 'no misses today';
  return `${Math.round((t.fromPeers / t.misses) * 100)} % of today's misses served by peers (${t.fromPeers} of ${t.misses})`;
}

/** The lines of `larder peers`. */
export function peersLines(r: PeersReport, now = Date.now()): string[] {
  if (!r.enabled) return ['LAN peers are off (peers.enabled in the config)'];
  const healthy = r.peers.filter((p) => p.healthy).length;
  const lines = [`${r.peers.length} peers (${healthy} healthy) by ${r.discover.join(' + ')} · ${todayShare(r.today)}`];
  for (const p of r.peers) {
    const state = p.healthy
      ? 'healthy'
      : `left out ${Math.max(0, Math.ceil(((p.droppedUntil ?? now) - now) / 1000))}s more${p.lastFailure ? ` (${p.lastFailure.reason})` : ''}`;
    lines.push(`${p.url}  ${state}  hits ${p.hits}  ${mb(p.bytes)}  failures ${p.failures}`);
  }
  return lines;
}
