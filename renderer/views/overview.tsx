/**
 * Overview: the key figures (key-figures.tsx: hit rate, pins, lag, storage,
 * requests, bytes, peers, cluster), replication with the parent and the
 * children, the last hour's charts and per-remote health with
 * offline/stale indicators.
 */
import type { Health, RemoteStats, Stats, StatsPoint } from '../../daemon/admin/contract.js';
import { TimeChart } from '../components/chart.js';
import { Badge, Empty, LoadableView, type Tone } from '../components/status.js';
import { formatAgo, formatBytes, formatCount, formatDuration } from '../format.js';
import { bytesColumns, hitRateColumns } from '../state/series.js';
import type { AppState, Store } from '../state/store.js';
import { Headline } from './key-figures.js';

const HEALTH: Record<Health, { tone: Tone; label: string }> = {
  ok: { tone: 'ok', label: 'Healthy' },
  degraded: { tone: 'warn', label: 'Degraded' },
  down: { tone: 'bad', label: 'Unreachable' },
  offline: { tone: 'muted', label: 'Offline' },
};

function RemoteRow({ r }: { r: RemoteStats }) {
  const h = HEALTH[r.health];
  return (
    <tr data-testid={`remote-${r.name}`} data-health={r.health}>
      <th scope="row">
        {r.name} <span class="muted">{r.type}</span>
      </th>
      <td class="url hide-narrow">{r.url}</td>
      <td>
        <Badge tone={h.tone} title={r.lastError}>
          {h.label}
        </Badge>{' '}
        {r.health === 'down' || r.health === 'offline' ? <Badge tone="warn">serving stale</Badge> : null}
      </td>
      <td>
        {r.staleServes > 0 ? <span data-testid="stale-serves">{formatCount(r.staleServes)} stale</span> : <span class="muted">0</span>}
      </td>
      <td>
        {formatAgo(r.lastSuccessAt)}
        {r.lastError ? <div class="error-text">{r.lastError}</div> : null}
      </td>
    </tr>
  );
}

function Remotes({ s }: { s: Stats }) {
  if (s.remotes.length === 0) return <Empty title="No upstreams configured">Add a remote to the config file to start caching.</Empty>;
  return (
    <table class="table">
      <thead>
        <tr>
          <th scope="col">Remote</th>
          <th scope="col" class="hide-narrow">
            URL
          </th>
          <th scope="col">Health</th>
          <th scope="col">Stale serves</th>
          <th scope="col">Last success</th>
        </tr>
      </thead>
      <tbody>
        {s.remotes.map((r) => (
          <RemoteRow key={r.name} r={r} />
        ))}
      </tbody>
    </table>
  );
}

function Charts({ points }: { points: StatsPoint[] }) {
  if (!points.some((p) => p.hits + p.misses > 0))
    return <Empty title="No traffic in the last hour">The chart fills in as clients use the mirror.</Empty>;
  return (
    <div class="charts">
      <figure class="card">
        <figcaption>Hit rate (10 s buckets)</figcaption>
        <TimeChart
          label="Cache hit rate over the last hour"
          data={hitRateColumns(points)}
          series={[{ label: 'Hit rate', stroke: '--accent' }]}
          format={(v) => `${v.toFixed(0)}%`}
          yRange={[0, 100]}
        />
      </figure>
      <figure class="card">
        <figcaption>Bytes served</figcaption>
        <TimeChart
          label="Bytes served from cache and from upstream over the last hour"
          data={bytesColumns(points)}
          series={[
            { label: 'From cache', stroke: '--ok' },
            { label: 'From upstream', stroke: '--warn' },
          ]}
          format={formatBytes}
        />
      </figure>
    </div>
  );
}

/** The overview section. */
export function Overview({ state, store }: { state: AppState; store: Store }) {
  return (
    <>
      <LoadableView data={state.stats} what="statistics" onRetry={() => void store.reload('stats')}>
        {(s) => (
          <>
            <Headline s={s} />
            {s.replication ? (
              <p class="summary" data-testid="replication-summary">
                Replicating from {s.replication.parent} ·{' '}
                {s.replication.connected ? <Badge tone="ok">connected</Badge> : <Badge tone="warn">parent unreachable</Badge>}
                {` · change ${s.replication.appliedSeq}/${s.replication.parentSeq} · `}
                {s.replication.lagSeconds > 0 ? (
                  <Badge tone="warn">lag {formatDuration(s.replication.lagSeconds)}</Badge>
                ) : (
                  <Badge tone="ok">caught up</Badge>
                )}
              </p>
            ) : null}
            {s.children?.length ? (
              <p class="summary" data-testid="children-summary">
                {s.children.length} child site{s.children.length === 1 ? '' : 's'} · worst lag{' '}
                {formatDuration(Math.max(0, ...s.children.map((c) => c.lagSeconds)))}
              </p>
            ) : null}
          </>
        )}
      </LoadableView>
      <h2>Last hour</h2>
      <LoadableView data={state.series} what="history" onRetry={() => void store.reload('series')}>
        {(points) => <Charts points={points} />}
      </LoadableView>
      <h2>Upstreams</h2>
      <LoadableView data={state.stats} what="upstream health" onRetry={() => void store.reload('stats')}>
        {(s) => <Remotes s={s} />}
      </LoadableView>
    </>
  );
}
