/**
 * One pre-warm job: overall progress, state, bytes, and the per-item table
 * (state, bytes of total, attempts, error), updated from `job` events.
 */
import { useState } from 'preact/hooks';
import type { ItemState, Job, JobItem } from '../../daemon/admin/contract.js';
import { api, toFailure } from '../api.js';
import { Badge, Progress, type Tone } from '../components/status.js';
import { formatAgo, formatBytes, formatCount } from '../format.js';

const ITEM_TONE: Record<ItemState, Tone> = {
  queued: 'muted',
  running: 'info',
  done: 'ok',
  cached: 'ok',
  failed: 'bad',
  cancelled: 'muted',
};
const JOB_TONE: Record<Job['state'], Tone> = { queued: 'muted', running: 'info', done: 'ok', failed: 'bad', cancelled: 'muted' };
const SHOWN_ITEMS = 200;

/** Share of a job's items that are finished (done, cached or failed), 0..1. */
export function jobProgress(job: Job): number {
  if (job.total <= 0) return job.state === 'done' ? 1 : 0;
  return Math.min(1, (job.done + job.failed) / job.total);
}

function ItemRow({ item }: { item: JobItem }) {
  const finished = item.state === 'done' || item.state === 'cached';
  return (
    <tr data-testid="job-item" data-state={item.state}>
      <th scope="row">
        <code>{item.ref}</code>
      </th>
      <td>
        <Badge tone={ITEM_TONE[item.state]}>{item.state}</Badge>
      </td>
      <td class="item-progress">
        {item.totalBytes ? (
          <Progress
            label={`${item.ref} downloaded`}
            value={finished ? item.totalBytes : item.bytes}
            max={item.totalBytes}
            tone={ITEM_TONE[item.state]}
          />
        ) : null}
        <span class="muted">
          {item.state === 'cached'
            ? `already cached${item.totalBytes ? ` · ${formatBytes(item.totalBytes)}` : ''}`
            : `${formatBytes(item.bytes)}${item.totalBytes ? ` of ${formatBytes(item.totalBytes)}` : ''}`}
        </span>
      </td>
      <td>{item.attempts > 1 ? `${item.attempts} attempts` : ''}</td>
      <td>{item.error ? <span class="error-text">{item.error}</span> : null}</td>
    </tr>
  );
}

/** A job with its live progress. */
export function JobCard({ job }: { job: Job }) {
  const [open, setOpen] = useState(true);
  const [error, setError] = useState<string>();
  const pct = Math.round(jobProgress(job) * 100);
  const active = job.state === 'queued' || job.state === 'running';
  const cancel = async (): Promise<void> => {
    try {
      await api.cancelJob(job.id);
    } catch (err) {
      setError(toFailure(err).message);
    }
  };
  return (
    <article class="card job" data-testid="job" data-job-id={job.id} data-state={job.state} aria-label={`Pre-warm job ${job.source}`}>
      <header class="job-head">
        <div>
          <strong>{job.source}</strong> <Badge tone={JOB_TONE[job.state]}>{job.state}</Badge>{' '}
          <span class="muted">
            started {formatAgo(job.createdAt)} · {formatBytes(job.bytes)}
          </span>
        </div>
        <div class="job-count" data-testid="job-percent">
          {pct}%
        </div>
      </header>
      <Progress
        label={`Job ${job.source} progress`}
        value={job.done + job.failed}
        max={Math.max(1, job.total)}
        tone={job.failed > 0 ? 'warn' : job.state === 'done' ? 'ok' : 'info'}
      />
      <div class="job-foot">
        <span>
          {formatCount(job.done)} done · {formatCount(job.failed)} failed · {formatCount(job.total)} total
        </span>
        <span class="row">
          {active ? (
            <button type="button" class="btn btn-small" onClick={() => void cancel()}>
              Cancel
            </button>
          ) : null}
          <button type="button" class="btn btn-small" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide items' : 'Show items'}
          </button>
        </span>
      </div>
      {error ? (
        <div class="error-text" role="alert">
          {error}
        </div>
      ) : null}
      {open && job.items.length > 0 ? (
        <table class="table table-compact">
          <tbody>
            {job.items.slice(0, SHOWN_ITEMS).map((it, i) => (
              <ItemRow key={`${it.ref}-${i}`} item={it} />
            ))}
          </tbody>
        </table>
      ) : null}
      {open && job.items.length > SHOWN_ITEMS ? <p class="muted">and {formatCount(job.items.length - SHOWN_ITEMS)} more items</p> : null}
    </article>
  );
}
