/**
 * The designed loading, empty and error states, plus small status widgets
 * (badges, progress bars) shared by every view.
 */
import type { ComponentChildren } from 'preact';
import type { AdminError } from '../api.js';
import type { Loadable } from '../state/store.js';

/** A placeholder while data loads (announced politely to screen readers). */
export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="state state-loading" role="status" aria-live="polite" aria-busy="true">
      <span class="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

/** Shown when a list has nothing in it yet. */
export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state state-empty" role="status">
      <strong>{title}</strong>
      {children ? <p>{children}</p> : null}
    </div>
  );
}

/** A failed load, with its code and a retry button. */
export function ErrorPanel({ error, onRetry, what }: { error: AdminError; onRetry?: () => void; what: string }) {
  return (
    <div class="state state-error" role="alert">
      <strong>Could not load {what}.</strong>
      <p>
        {error.message} <code>{error.code}</code>
      </p>
      {onRetry ? (
        <button type="button" class="btn" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

/** Renders a Loadable: loading and error states, else `children(value)`. */
export function LoadableView<T>({
  data,
  what,
  onRetry,
  children,
}: {
  data: Loadable<T>;
  what: string;
  onRetry?: () => void;
  children: (value: T) => ComponentChildren;
}) {
  if (data.status === 'loading') return <Loading label={`Loading ${what}…`} />;
  if (data.status === 'error') return <ErrorPanel error={data.error} what={what} onRetry={onRetry} />;
  return <>{children(data.value)}</>;
}

/** Colour tone of a badge or bar. */
export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';

/** A small coloured label with text (colour is never the only signal). */
export function Badge({ tone, children, title }: { tone: Tone; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

/** A labelled progress bar (role=progressbar with aria values). */
export function Progress({
  value,
  max,
  label,
  tone = 'info',
  marks = [],
}: {
  value: number;
  max: number;
  label: string;
  tone?: Tone;
  marks?: number[];
}) {
  const pct = max > 0 ? Math.min(100, Math.max(0, (value / max) * 100)) : 0;
  return (
    <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
      <div class={`progress-fill tone-${tone}`} style={{ width: `${pct}%` }} />
      {marks.map((m) => (
        <div key={m} class="progress-mark" style={{ left: `${Math.min(100, m * 100)}%` }} aria-hidden="true" />
      ))}
    </div>
  );
}

/** One headline number with a caption. */
export function Stat({ label, value, sub, testId }: { label: string; value: ComponentChildren; sub?: ComponentChildren; testId?: string }) {
  return (
    <div class="stat" data-testid={testId}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {sub ? <div class="stat-sub">{sub}</div> : null}
    </div>
  );
}
