/**
 * Plumbing of the admin API end-to-end tests: a typed client for
 * `/_/api/v1/` with the token from `<dataDir>/admin-token`, an SSE reader,
 * polling, Prometheus lookups and views of the data directory.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from './wait.js';
import type { AuditRecord, EntrySummary, Job, Page, Pin, Stats } from '../../daemon/admin/contract.js';

export interface ApiAnswer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** The admin token a daemon wrote into its data directory. */
export async function adminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
}

/** Calls the admin API; `token: null` sends no Authorization header. */
export async function api<T = unknown>(
  base: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/_/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (never expected from the admin API; the assertion will show it)
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** An admin client bound to one daemon and token. */
export function adminClient(base: string, token: string) {
  const call = <T>(method: string, path: string, body?: unknown) => api<T>(base, token, method, path, body);
  const ok = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await call<T>(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    call,
    ok,
    stats: () => ok<Stats>('GET', '/stats'),
    entries: (q = '') => ok<Page<EntrySummary>>('GET', `/entries?limit=500${q ? `&q=${encodeURIComponent(q)}` : ''}`).then((p) => p.items),
    pin: (id: string) => ok<Pin>('GET', `/pins/${id}`),
    audit: () => ok<AuditRecord[]>('GET', '/audit?limit=1000'),
    job: (id: string) => ok<Job>('GET', `/jobs/${id}`),
    /** Polls a job until it is no longer queued or running. */
    async waitJob(id: string, timeoutMs = 60_000): Promise<Job> {
      return waitFor(
        async () => {
          const j = await ok<Job>('GET', `/jobs/${id}`);
          return j.state === 'queued' || j.state === 'running' ? undefined : j;
        },
        timeoutMs,
        `job ${id} to finish`,
      );
    },
  };
}

export type AdminClient = ReturnType<typeof adminClient>;

/** One parsed Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/** Reads `/events` until `stop` returns true for the events seen so far (or the timeout). */
export async function readEvents(base: string, token: string, stop: (seen: SseEvent[]) => boolean, timeoutMs: number): Promise<SseEvent[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const seen: SseEvent[] = [];
  try {
    const res = await fetch(`${base}/_/api/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
    if (res.status !== 200 || !res.body) throw new Error(`/events answered ${res.status}`);
    let buf = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) seen.push({ event, data: JSON.parse(data) as unknown });
      }
      if (stop(seen)) break;
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return seen;
}

/** The value of an unlabelled Prometheus sample, or undefined. */
export async function metric(base: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Path of a committed blob in a data directory. */
export function blobPath(dataDir: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

/** Total bytes of the committed blob files (a file evicted while they are counted counts as gone). */
export async function blobBytes(dataDir: string): Promise<number> {
  let total = 0;
  const base = join(dataDir, 'blobs', 'sha256');
  const gone = (err: NodeJS.ErrnoException): undefined => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  };
  for (const p of await readdir(base).catch(() => [] as string[])) {
    for (const f of (await readdir(join(base, p)).catch(gone)) ?? []) {
      total += (await stat(join(base, p, f)).catch(gone))?.size ?? 0;
    }
  }
  return total;
}
