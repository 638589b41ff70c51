/**
 * Pins: every pinned artifact with its resolved digest, size, last fresh
 * check and replication lag (coloured against a threshold the user sets);
 * adding a pin shows the API's validation message; removal is two-step.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Pin, PinStatus } from '../../daemon/admin/contract.js';
import { api, toFailure } from '../api.js';
import { Badge, Empty, LoadableView, type Tone } from '../components/status.js';
import { formatAgo, formatBytes, formatCount, formatDuration, lagLevel, shortDigest } from '../format.js';
import type { AppState, Store } from '../state/store.js';
import { AddPinForm } from './pin-form.js';

const STATUS: Record<PinStatus, Tone> = { ok: 'ok', lagging: 'warn', resolving: 'info', error: 'bad' };
const LAG_TONE = { ok: 'ok', warn: 'warn', bad: 'bad' } as const;
const THRESHOLD_KEY = 'larder.lagThresholdMinutes';

function readThreshold(): number {
  const v = Number(localStorage.getItem(THRESHOLD_KEY));
  return Number.isFinite(v) && v > 0 ? v : 15;
}

/** Current lag of a pin: ticks from changeSeenAt between the daemon's updates. */
export function currentLag(pin: Pin, now: number): number {
  if (pin.changeSeenAt === undefined || pin.status === 'ok') return pin.lagSeconds;
  return Math.max(pin.lagSeconds, (now - pin.changeSeenAt) / 1000);
}

/** Re-renders every `ms` (for ticking relative times). */
function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

function PinRow({
  pin,
  thresholdSeconds,
  focused,
  now,
  onRemoved,
}: {
  pin: Pin;
  thresholdSeconds: number;
  focused: boolean;
  now: number;
  onRemoved(id: string): void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const row = useRef<HTMLTableRowElement>(null);
  useEffect(() => {
    if (focused) row.current?.scrollIntoView({ block: 'center' });
  }, [focused]);
  const lag = currentLag(pin, now);
  const level = lagLevel(lag, thresholdSeconds);
  const remove = async (): Promise<void> => {
    setBusy(true);
    try {
      await api.removePin(pin.id);
      // Gone now for this page, whether or not the live stream (which may be reconnecting) reports it.
      onRemoved(pin.id);
    } catch (err) {
      setError(toFailure(err).message);
      setBusy(false);
    }
  };
  return (
    <tr
      ref={row}
      class={focused ? 'row-focused' : undefined}
      data-testid="pin-row"
      data-pin-id={pin.id}
      data-status={pin.status}
      tabIndex={focused ? -1 : undefined}
    >
      <th scope="row">
        <code>{pin.ref}</code>
        {pin.mutable ? <span class="muted"> · follows upstream</span> : null}
        {pin.error ? <div class="error-text">{pin.error}</div> : null}
      </th>
      <td>
        <Badge tone={STATUS[pin.status]}>{pin.status}</Badge>
      </td>
      <td title={pin.resolved}>
        <code data-testid="pin-digest">{shortDigest(pin.resolved)}</code>
      </td>
      <td>
        {formatBytes(pin.size)} <span class="muted">· {formatCount(pin.items)} items</span>
      </td>
      <td>{formatAgo(pin.lastCheckedAt, now)}</td>
      <td data-testid="pin-lag" data-level={level} data-seconds={Math.floor(lag)}>
        <Badge tone={LAG_TONE[level]} title={`threshold ${formatDuration(thresholdSeconds)}`}>
          {lag > 0 ? `${formatDuration(Math.max(1, lag))} behind` : 'up to date'}
        </Badge>
      </td>
      <td class="actions">
        {confirming ? (
          <>
            <button type="button" class="btn btn-danger" disabled={busy} onClick={() => void remove()}>
              Confirm remove
            </button>{' '}
            <button type="button" class="btn" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" class="btn" aria-label={`Remove pin ${pin.ref}`} onClick={() => setConfirming(true)}>
            Remove
          </button>
        )}
        {error ? (
          <div class="error-text" role="alert">
            {error}
          </div>
        ) : null}
      </td>
    </tr>
  );
}

/** The pins section; `focus` is a pin id from the route (#pins/<id>). */
export function Pins({ state, store, focus }: { state: AppState; store: Store; focus?: string }) {
  const [minutes, setMinutes] = useState(readThreshold);
  const now = useNow(1000);
  const onThreshold = (v: number): void => {
    if (!Number.isFinite(v) || v <= 0) return;
    setMinutes(v);
    localStorage.setItem(THRESHOLD_KEY, String(v));
  };
  return (
    <>
      <AddPinForm onAdded={(pin) => store.apply({ type: 'pin', data: pin })} />
      <div class="toolbar">
        <label>
          Lag threshold{' '}
          <input
            type="number"
            min={1}
            step={1}
            value={minutes}
            class="input input-narrow"
            onChange={(e) => onThreshold(Number(e.currentTarget.value))}
          />{' '}
          minutes
        </label>
      </div>
      <LoadableView data={state.pins} what="pins" onRetry={() => void store.reload('pins')}>
        {(pins) =>
          pins.length === 0 ? (
            <Empty title="Nothing is pinned yet">
              Pinned artifacts are kept through eviction and refreshed when their upstream changes.
            </Empty>
          ) : (
            <table class="table" aria-label="Pinned artifacts">
              <thead>
                <tr>
                  <th scope="col">Reference</th>
                  <th scope="col">Status</th>
                  <th scope="col">Resolved</th>
                  <th scope="col">Size</th>
                  <th scope="col">Last fresh check</th>
                  <th scope="col">Replication lag</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {pins.map((p) => (
                  <PinRow
                    key={p.id}
                    pin={p}
                    thresholdSeconds={minutes * 60}
                    focused={p.id === focus}
                    now={now}
                    onRemoved={(id) => store.apply({ type: 'pin-removed', data: { id } })}
                  />
                ))}
              </tbody>
            </table>
          )
        }
      </LoadableView>
    </>
  );
}
