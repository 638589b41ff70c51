/**
 * Activity: recent requests and events (integrity failures, stale serves,
 * evictions, scrub findings…), newest first, filterable by kind. Events
 * arrive live; requests are not pushed one by one (too many), so the list is
 * also refreshed every few seconds while the section is open.
 */
import { useEffect } from 'preact/hooks';
import type { ActivityItem, ActivityKind } from '../../daemon/admin/contract.js';
import { Badge, Empty, LoadableView, type Tone } from '../components/status.js';
import { formatClock, formatDateTime } from '../format.js';
import type { AppState, Store } from '../state/store.js';

/** Filter options in display order. */
export const KINDS: ReadonlyArray<{ kind: ActivityKind; label: string; tone: Tone }> = [
  { kind: 'request', label: 'Requests', tone: 'muted' },
  { kind: 'integrity', label: 'Integrity failures', tone: 'bad' },
  { kind: 'stale', label: 'Stale serves', tone: 'warn' },
  { kind: 'eviction', label: 'Evictions', tone: 'info' },
  { kind: 'scrub', label: 'Scrub', tone: 'info' },
  { kind: 'pin', label: 'Pins', tone: 'ok' },
  { kind: 'job', label: 'Jobs', tone: 'ok' },
  { kind: 'error', label: 'Errors', tone: 'bad' },
];

const REFRESH_MS = 5_000;

function toneOf(kind: ActivityKind): Tone {
  return KINDS.find((k) => k.kind === kind)?.tone ?? 'muted';
}

function Row({ item }: { item: ActivityItem }) {
  return (
    <tr data-testid="activity-row" data-kind={item.kind}>
      <td title={formatDateTime(item.at)}>
        <time dateTime={new Date(item.at).toISOString()}>{formatClock(item.at)}</time>
      </td>
      <td>
        <Badge tone={toneOf(item.kind)}>{item.kind}</Badge>
      </td>
      <td>
        {item.message}
        {item.path && !item.message.includes(item.path) ? (
          <div class="muted path">
            <code>{item.path}</code>
          </div>
        ) : null}
      </td>
      <td>{item.protocol ?? ''}</td>
      <td>{item.cache ?? ''}</td>
      <td>{item.status ?? ''}</td>
    </tr>
  );
}

/** The activity section. */
export function Activity({ state, store }: { state: AppState; store: Store }) {
  const current = state.activityKind;
  useEffect(() => {
    const t = setInterval(() => void store.reload('activity'), REFRESH_MS);
    return () => clearInterval(t);
  }, [store]);
  return (
    <>
      <fieldset class="toolbar" aria-label="Filter by kind">
        <button type="button" class="chip" aria-pressed={current === undefined} onClick={() => store.setActivityKind(undefined)}>
          All
        </button>
        {KINDS.map((k) => (
          <button key={k.kind} type="button" class="chip" aria-pressed={current === k.kind} onClick={() => store.setActivityKind(k.kind)}>
            {k.label}
          </button>
        ))}
      </fieldset>
      <LoadableView data={state.activity} what="activity" onRetry={() => void store.reload('activity')}>
        {(items) =>
          items.length === 0 ? (
            <Empty
              title={current ? `No ${KINDS.find((k) => k.kind === current)?.label.toLowerCase() ?? current} recently` : 'No activity yet'}
            >
              New requests and events show up here as they happen.
            </Empty>
          ) : (
            <table class="table table-compact" aria-label="Recent activity" aria-live="polite">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Kind</th>
                  <th scope="col">What</th>
                  <th scope="col">Protocol</th>
                  <th scope="col">Cache</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {items.map((it, i) => (
                  <Row key={`${it.at}-${i}`} item={it} />
                ))}
              </tbody>
            </table>
          )
        }
      </LoadableView>
    </>
  );
}
