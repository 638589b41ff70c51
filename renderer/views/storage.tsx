/**
 * Storage: usage against the budget and watermarks, evictions, scrub status,
 * and buttons that start a scrub, a garbage collection or an eviction down
 * to the low watermark (each shows its result or error).
 */
import { useState } from 'preact/hooks';
import type { Stats } from '../../daemon/admin/contract.js';
import { api, toFailure } from '../api.js';
import { Badge, LoadableView, Stat } from '../components/status.js';
import { formatAgo, formatBytes, formatCount, formatPercent } from '../format.js';
import { bridge } from '../host.js';
import type { AppState, Store } from '../state/store.js';
import { StorageBar } from './key-figures.js';

type Action = 'scrub' | 'gc' | 'evict';

function Actions({ running }: { running: boolean }) {
  const [busy, setBusy] = useState<Action>();
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const host = bridge();
  const run = async (a: Action): Promise<void> => {
    setBusy(a);
    setResult(undefined);
    try {
      if (a === 'scrub') {
        await api.scrub({ now: true });
        setResult({ ok: true, text: 'Scrub started.' });
      } else {
        const r = a === 'gc' ? await api.gc() : await api.evict({ toLowWatermark: true });
        setResult({
          ok: true,
          text: `${a === 'gc' ? 'Garbage collection' : 'Eviction'} removed ${formatCount(r.removed)} items (${formatBytes(r.bytes)}).`,
        });
      }
    } catch (err) {
      setResult({ ok: false, text: toFailure(err).message });
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <div class="card">
      <div class="row">
        <button type="button" class="btn btn-primary" disabled={busy !== undefined || running} onClick={() => void run('scrub')}>
          {running ? 'Scrub running…' : busy === 'scrub' ? 'Starting…' : 'Run scrub'}
        </button>
        <button type="button" class="btn" disabled={busy !== undefined} onClick={() => void run('gc')}>
          {busy === 'gc' ? 'Collecting…' : 'Collect garbage'}
        </button>
        <button type="button" class="btn" disabled={busy !== undefined} onClick={() => void run('evict')}>
          {busy === 'evict' ? 'Evicting…' : 'Evict to low watermark'}
        </button>
        {host ? (
          <button type="button" class="btn" onClick={() => void host.openDataFolder()}>
            Open data folder
          </button>
        ) : null}
      </div>
      {result ? (
        <div class={result.ok ? 'ok-text' : 'error-text'} role={result.ok ? 'status' : 'alert'} data-testid="storage-result">
          {result.text}
        </div>
      ) : null}
    </div>
  );
}

function Body({ s }: { s: Stats }) {
  const st = s.storage;
  const sc = s.scrub;
  return (
    <>
      <section class="card">
        <h3>Usage</h3>
        <StorageBar storage={st} />
        <p>
          <strong>{formatBytes(st.usedBytes)}</strong> of {formatBytes(st.maxBytes)} (
          {formatPercent(st.maxBytes > 0 ? st.usedBytes / st.maxBytes : 0)}) · eviction starts at {formatPercent(st.highWatermark, 0)} and
          stops at {formatPercent(st.lowWatermark, 0)}
        </p>
      </section>
      <section class="grid-stats" aria-label="Storage figures">
        <Stat label="Blobs" value={formatCount(st.blobs)} sub={`${formatCount(st.entries)} index entries`} />
        <Stat
          testId="evictions"
          label="Evictions"
          value={formatCount(s.evictions.count)}
          sub={`${formatBytes(s.evictions.bytes)} reclaimed`}
        />
        <Stat
          label="Integrity failures"
          value={formatCount(s.integrityFailures)}
          sub={s.integrityFailures > 0 ? <Badge tone="bad">see Activity</Badge> : 'none'}
        />
        <Stat
          testId="scrub"
          label="Scrub"
          value={
            sc.running ? (
              <Badge tone="info">running</Badge>
            ) : (
              <Badge tone={sc.corrupt > 0 ? 'bad' : sc.lastFinishedAt ? 'ok' : 'muted'}>
                {sc.corrupt > 0 ? `${formatCount(sc.corrupt)} corrupt` : sc.lastFinishedAt ? 'clean' : 'never run'}
              </Badge>
            )
          }
          sub={`${formatCount(sc.checked)} checked · ${formatCount(sc.corrupt)} corrupt · ${formatCount(sc.repaired)} repaired · last ${formatAgo(sc.lastFinishedAt ?? sc.lastRunAt)}${sc.running && sc.bytesPerSecond > 0 ? ` · ${formatBytes(sc.bytesPerSecond)}/s` : ''}`}
        />
      </section>
      <Actions running={sc.running} />
    </>
  );
}

/** The storage section. */
export function Storage({ state, store }: { state: AppState; store: Store }) {
  return (
    <LoadableView data={state.stats} what="storage status" onRetry={() => void store.reload('stats')}>
      {(s) => <Body s={s} />}
    </LoadableView>
  );
}
