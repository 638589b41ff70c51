/**
 * Empties a running Larder's cache through its admin API, so that a cold
 * pull can be measured on a daemon that has already been running.
 *
 * A fresh daemon per cold run measures two things at once: the cold cache
 * and the first minutes of a new process (every code path interpreted
 * before V8 compiles it). The servers on the other sides of a comparison
 * (the upstream, the delay proxy, the registry) are long-running, and a
 * user's daemon is too: it meets a cold artifact long after it started. So
 * the cold targets are measured on a daemon that served the same workload
 * once, unmeasured, and was then emptied: every entry listed by
 * `GET /_/api/v1/entries` is evicted with `POST /_/api/v1/evict`. The
 * benchmark still reports the fresh-daemon runs beside them, and counts
 * the upstream requests of both, which show that the emptied daemon fetched
 * everything again.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchServer } from './servers.js';

interface EntryPage {
  items: Array<{ key: string }>;
  next?: string;
}

/**
 * Longer than answered bodies may wait before they are written
 * (daemon/core/write-behind.ts: 2.5 s of quiet, at most 6 s), and than Node's
 * http servers keep an idle connection (5 s): the fixture upstream has
 * closed every connection the last run kept alive, so the cold run opens
 * its upstream connections anew, as a fresh daemon does, instead of racing
 * their closing halfway through.
 */
const SETTLE_MS = 6500;

/**
 * Waits until a running Larder's writes put off behind its last run
 * (daemon/core/write-behind.ts) have been done, so that they fall into no
 * other side's measurement.
 */
export function settle(): Promise<void> {
  return sleep(SETTLE_MS);
}

async function call<T>(s: BenchServer, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${s.origin}/_/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function listKeys(s: BenchServer, token: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page = await call<EntryPage>(s, token, 'GET', `/entries?limit=500${q}`);
    for (const e of page.items) keys.push(e.key);
    cursor = page.next;
  } while (cursor);
  return keys;
}

/**
 * Waits for the writes of the last run to land, then evicts every entry
 * (or every entry whose key `only` accepts) until the index lists none.
 * Returns how many entries were evicted.
 */
export async function emptyCache(s: BenchServer, only: (key: string) => boolean = () => true): Promise<number> {
  const token = (await readFile(join(s.dir, 'data', 'admin-token'), 'utf8')).trim();
  await sleep(SETTLE_MS);
  let evicted = 0;
  for (let pass = 0; pass < 10; pass++) {
    const keys = (await listKeys(s, token)).filter(only);
    if (keys.length === 0) return evicted;
    for (const key of keys) await call(s, token, 'POST', '/evict', { key });
    evicted += keys.length;
  }
  throw new Error(`${s.name}: entries still listed after 10 eviction passes`);
}
