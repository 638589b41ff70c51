/**
 * Pre-warm: submit references or lockfiles (uploaded in the browser, or
 * picked through the app's native dialog in Electron) as a job, and watch
 * each job's per-item progress live.
 */
import { useState } from 'preact/hooks';
import type { JobRequest } from '../../daemon/admin/contract.js';
import type { PickedFile } from '../../electron/shared/ipc-contract.js';
import { api, toFailure } from '../api.js';
import { Empty, LoadableView } from '../components/status.js';
import { formatBytes } from '../format.js';
import { bridge } from '../host.js';
import type { AppState, Store } from '../state/store.js';
import { JobCard } from './job-card.js';

const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** Splits the textarea into references (one per line or whitespace-separated; # comments). */
export function parseRefs(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .flatMap((l) => l.split(/\s+/))
    .filter(Boolean);
}

function PrewarmForm({ store }: { store: Store }) {
  const [text, setText] = useState('');
  const [files, setFiles] = useState<PickedFile[]>([]);
  const [deps, setDeps] = useState(true);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const host = bridge();

  const addFiles = async (list: FileList | null): Promise<void> => {
    if (!list) return;
    const read: PickedFile[] = [];
    for (const f of Array.from(list)) {
      if (f.size > MAX_FILE_BYTES) {
        setError(`${f.name} is larger than ${formatBytes(MAX_FILE_BYTES)}.`);
        continue;
      }
      read.push({ name: f.name, content: await f.text() });
    }
    setFiles((old) => [...old, ...read]);
  };

  const pick = async (): Promise<void> => {
    const picked = await host?.pickLockfile();
    if (picked) setFiles((old) => [...old, ...picked]);
  };

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const refs = parseRefs(text);
    if (refs.length === 0 && files.length === 0) {
      setError('Enter at least one reference or add a lockfile.');
      return;
    }
    const req: JobRequest = { deps };
    if (refs.length) req.refs = refs;
    if (files.length) req.files = files;
    setBusy(true);
    setError(undefined);
    try {
      const job = await api.startJob(req);
      store.apply({ type: 'job', data: job });
      setText('');
      setFiles([]);
    } catch (err) {
      setError(toFailure(err).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card form form-stack" onSubmit={(e) => void submit(e)} aria-label="Start a pre-warm" noValidate>
      <div class="field">
        <label for="prewarm-refs">References</label>
        <textarea
          id="prewarm-refs"
          class="input"
          rows={4}
          spellcheck={false}
          placeholder={'npm:react@18.3.1\noci:docker.io/library/alpine:3.20'}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-describedby="prewarm-help"
        />
        <div id="prewarm-help" class="help">
          One reference per line, or add lockfiles: package-lock.json, pnpm-lock.yaml, yarn.lock, requirements.txt, go.sum,
          docker-compose.yml, Dockerfile.
        </div>
      </div>
      <div class="row">
        <label class="btn" for="prewarm-file">
          Upload lockfile…
        </label>
        <input id="prewarm-file" class="sr-only" type="file" multiple onChange={(e) => void addFiles(e.currentTarget.files)} />
        {host ? (
          <button type="button" class="btn" onClick={() => void pick()}>
            Choose lockfile…
          </button>
        ) : null}
        <label class="check">
          <input type="checkbox" checked={deps} onChange={(e) => setDeps(e.currentTarget.checked)} /> Include npm dependency trees
        </label>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? 'Starting…' : 'Start pre-warm'}
        </button>
      </div>
      {files.length > 0 ? (
        <ul class="files" aria-label="Lockfiles to submit">
          {files.map((f, i) => (
            <li key={`${f.name}-${i}`}>
              <code>{f.name}</code> <span class="muted">{formatBytes(f.content.length)}</span>{' '}
              <button
                type="button"
                class="btn btn-small"
                aria-label={`Remove ${f.name}`}
                onClick={() => setFiles((old) => old.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {error ? (
        <div class="error-text" role="alert">
          {error}
        </div>
      ) : null}
    </form>
  );
}

/** The pre-warm section. */
export function Prewarm({ state, store }: { state: AppState; store: Store }) {
  return (
    <>
      <PrewarmForm store={store} />
      <h2>Jobs</h2>
      <LoadableView data={state.jobs} what="jobs" onRetry={() => void store.reload('jobs')}>
        {(jobs) =>
          jobs.length === 0 ? (
            <Empty title="No pre-warm jobs yet">Submitted jobs and their progress appear here.</Empty>
          ) : (
            <div class="jobs">
              {jobs.map((j) => (
                <JobCard key={j.id} job={j} />
              ))}
            </div>
          )
        }
      </LoadableView>
    </>
  );
}
