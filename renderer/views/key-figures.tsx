/**
 * The overview's key figures: the tray's three numbers (hit rate, pinned
 * artifacts with their lagging count, worst replication lag), always shown,
 * zero included; then storage against the budget, requests and bytes from
 * cache vs upstream, bytes saved, LAN peers when they are on, and in cluster
 * mode this node's role among the cluster's nodes.
 */
import type { Stats } from '../../daemon/admin/contract.js';
import { Badge, Progress, Stat, type Tone } from '../components/status.js';
import { formatBytes, formatCount, formatDuration, formatPercent, lagLevel, type LagLevel } from '../format.js';
import { cachedRequests } from '../state/series.js';

/** Storage bar tone: amber past the high watermark, red when full. */
export function storageTone(s: Stats['storage']): Tone {
  if (s.maxBytes <= 0) return 'info';
  const r = s.usedBytes / s.maxBytes;
  return r >= 1 ? 'bad' : r >= s.highWatermark ? 'warn' : 'ok';
}

/** Storage used against the budget, toned and marked at the eviction watermarks (overview and Storage view). */
export function StorageBar({ storage: st }: { storage: Stats['storage'] }) {
  return (
    <Progress
      label="Storage used of budget"
      value={st.usedBytes}
      max={st.maxBytes}
      tone={storageTone(st)}
      marks={[st.lowWatermark, st.highWatermark]}
    />
  );
}

/** Worst replication lag (pins and, on an edge site, behind its parent), as the tray counts it; null when nothing can lag. */
export function worstLag(s: Stats): { seconds: number | null; level: LagLevel } {
  if (s.pins.count === 0 && !s.replication) return { seconds: null, level: 'ok' };
  const seconds = Math.max(0, s.pins.maxLagSeconds, s.replication?.lagSeconds ?? 0);
  return { seconds, level: lagLevel(seconds, s.pins.lagThresholdSeconds) };
}

const LAG_TONE: Record<LagLevel, Tone> = { ok: 'ok', warn: 'warn', bad: 'bad' };

function Pinned({ s }: { s: Stats }) {
  const { count, lagging } = s.pins;
  return (
    <Stat
      testId="pins"
      label="Pinned artifacts"
      value={<span data-testid="pins-count">{`${formatCount(count)} pin${count === 1 ? '' : 's'}`}</span>}
      sub={
        <>
          <span data-testid="pins-lagging">{formatCount(lagging)} lagging</span>
          {count > 0 ? <> · {lagging > 0 ? <Badge tone="warn">behind upstream</Badge> : <Badge tone="ok">all current</Badge>}</> : null}
        </>
      }
    />
  );
}

function Lag({ s }: { s: Stats }) {
  const lag = worstLag(s);
  let why = 'no pins and no parent to lag behind';
  if (s.replication) why = `pins and parent ${s.replication.parent}`;
  else if (s.pins.count > 0) why = 'worst over the pins';
  return (
    <Stat
      testId="lag"
      label="Replication lag"
      value={
        <span data-testid="lag-value" data-level={lag.level}>
          {lag.seconds === null ? '—' : formatDuration(lag.seconds)}
        </span>
      }
      sub={lag.seconds !== null && lag.seconds > 0 ? <Badge tone={LAG_TONE[lag.level]}>{why}</Badge> : why}
    />
  );
}

/** Today's share of misses LAN peers served: "41 % of today's misses served by peers". */
export function peerShare(p: NonNullable<Stats['peers']>): string {
  if (p.today.misses === 0) return 'no misses today';
  return `${Math.round((p.today.fromPeers / p.today.misses) * 100)} % of today's misses served by peers`;
}

function Peers({ p }: { p: NonNullable<Stats['peers']> }) {
  const down = p.count - p.healthy;
  return (
    <Stat
      testId="peers"
      label="LAN peers"
      value={<span data-testid="peers-count">{`${formatCount(p.count)} peer${p.count === 1 ? '' : 's'}`}</span>}
      sub={
        <>
          <span data-testid="peers-share">{peerShare(p)}</span>
          {down > 0 ? (
            <>
              {' '}
              · <Badge tone="warn">{`${formatCount(down)} left out`}</Badge>
            </>
          ) : null}
        </>
      }
    />
  );
}

const ROLE: Record<NonNullable<Stats['cluster']>['role'], { tone: Tone; label: string }> = {
  leader: { tone: 'ok', label: 'eviction leader' },
  member: { tone: 'ok', label: 'member' },
  alone: { tone: 'warn', label: 'alone: etcd unreachable' },
};

/** Cluster mode: this node's role, the nodes registered in etcd, and S3 health. */
function Cluster({ c }: { c: NonNullable<Stats['cluster']> }) {
  const role = ROLE[c.role];
  return (
    <Stat
      testId="cluster"
      label={`Cluster ${c.name}`}
      value={<span data-testid="cluster-nodes">{`${formatCount(c.nodes)} node${c.nodes === 1 ? '' : 's'}`}</span>}
      sub={
        <>
          <span data-testid="cluster-role">
            <Badge tone={role.tone}>{role.label}</Badge>
          </span>
          {c.s3Up ? null : (
            <>
              {' '}
              · <Badge tone="bad">S3 unreachable</Badge>
            </>
          )}
        </>
      }
    />
  );
}

export function Headline({ s }: { s: Stats }) {
  const cached = cachedRequests(s);
  const st = s.storage;
  return (
    <section class="grid-stats" aria-label="Key figures">
      <Stat
        testId="hit-rate"
        label="Hit rate"
        value={formatPercent(s.hitRate)}
        sub={`${formatCount(cached)} of ${formatCount(cached + s.requests.miss)} cacheable requests`}
      />
      <Pinned s={s} />
      <Lag s={s} />
      <div class="stat" data-testid="storage">
        <div class="stat-label">Storage</div>
        <div class="stat-value">{formatBytes(st.usedBytes)}</div>
        <StorageBar storage={st} />
        <div class="stat-sub">
          of {formatBytes(st.maxBytes)} budget · {formatCount(st.blobs)} blobs
        </div>
      </div>
      <Stat
        testId="requests"
        label="Requests"
        value={formatCount(s.requests.total)}
        sub={
          <>
            <span data-testid="requests-cache">{formatCount(cached)}</span> from cache ·{' '}
            <span data-testid="requests-upstream">{formatCount(s.requests.miss)}</span> upstream
          </>
        }
      />
      <Stat
        testId="bytes"
        label="Bytes served"
        value={formatBytes(s.bytesServed.cache + s.bytesServed.upstream)}
        sub={
          <>
            <span data-testid="bytes-cache">{formatBytes(s.bytesServed.cache)}</span> from cache ·{' '}
            <span data-testid="bytes-upstream">{formatBytes(s.bytesServed.upstream)}</span> upstream
          </>
        }
      />
      <Stat testId="bytes-saved" label="Bytes saved" value={formatBytes(s.bytesSaved)} sub={`${formatBytes(s.bytesSavedToday)} today`} />
      {s.peers ? <Peers p={s.peers} /> : null}
      {s.cluster ? <Cluster c={s.cluster} /> : null}
    </section>
  );
}
