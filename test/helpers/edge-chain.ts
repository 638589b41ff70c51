/**
 * Mirror-hierarchy plumbing for the edge tests: daemons chained by `parent`
 * config (optionally through a thin link), their admin tokens and ids, and
 * typed reads of their admin API.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildStatus, Pin, Stats } from '../../daemon/admin/contract.js';
import type { ConfigInput } from '../../daemon/config/schema.js';
import { startTestDaemon, type TestDaemon } from './daemon.js';

export interface ChainDaemon {
  d: TestDaemon;
  token: string;
  id: string;
  config: Omit<ConfigInput, 'listen'>;
}

/** Starts a daemon; `parent` (url and token) makes it a child. */
export async function startNode(
  config: Omit<ConfigInput, 'listen'>,
  parent?: { url: string; token: string },
  opts: { dataDir?: string; listen?: string } = {},
): Promise<ChainDaemon> {
  const full: Omit<ConfigInput, 'listen'> = { ...config, ...(parent ? { parent: { url: parent.url, token: parent.token } } : {}) };
  const d = await startTestDaemon(full, opts);
  const token = (await readFile(d.tokenFile, 'utf8')).trim();
  const id = (await readFile(join(d.dataDir, 'daemon-id'), 'utf8')).trim();
  return { d, token, id, config: full };
}

/** Restarts a stopped daemon on its data directory and port. */
export async function restartNode(n: ChainDaemon): Promise<ChainDaemon> {
  const d = await startTestDaemon(n.config, { dataDir: n.d.dataDir, listen: `127.0.0.1:${n.d.port}` });
  return { ...n, d };
}

export async function api<T>(n: ChainDaemon, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`${n.d.url}/_/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${n.token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export const stats = (n: ChainDaemon): Promise<Stats> => api<Stats>(n, '/stats');
export const pins = (n: ChainDaemon): Promise<Pin[]> => api<Pin[]>(n, '/pins');
export const children = (n: ChainDaemon): Promise<ChildStatus[]> => api<ChildStatus[]>(n, '/children');

/** Polls until `check` returns a value (not undefined), or fails after `ms` with the last `describe()`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 20_000,
  describe?: () => Promise<string>,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${describe ? `: ${await describe()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
