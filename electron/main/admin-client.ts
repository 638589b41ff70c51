/**
 * The tray app's admin client: the shared typed client (daemon/admin/client.ts)
 * with the bearer token read from <dataDir>/admin-token (read again after a
 * 401, since it can be rotated), a 10 s limit per call, and the live event
 * stream consumed with fetch + SseParser (the main process has no
 * EventSource; the dashboard uses the browser's).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdminClient } from '../../daemon/admin/client.js';
import { AdminError, parseLiveEvent } from '../../daemon/admin/client-decode.js';
import type { LiveEvent } from '../../daemon/admin/contract.js';
import { SseParser } from './sse.js';

export { AdminError };

/** Reads the daemon's admin token (written by the daemon, mode 0600). */
export async function readAdminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
}

/** Options of {@link TrayAdminClient}. */
export interface TrayClientOptions {
  /** Daemon base URL, e.g. http://127.0.0.1:7420 */
  baseUrl: string;
  /** Returns the admin token (asked again after a 401). */
  token: () => Promise<string>;
  timeoutMs?: number;
}

/** The shared admin client plus the tray's live event stream. */
export class TrayAdminClient extends AdminClient {
  constructor(opts: TrayClientOptions) {
    super({ baseUrl: opts.baseUrl, auth: { bearer: opts.token }, timeoutMs: opts.timeoutMs ?? 10_000 });
  }

  /**
   * Streams live events until the stream ends or `signal` aborts. Resolves
   * on a clean end; rejects with an AdminError on HTTP or network errors
   * (the caller retries).
   */
  async events(onEvent: (ev: LiveEvent) => void, signal: AbortSignal): Promise<void> {
    const res = await this.open('GET', '/events', { signal });
    if (!res.body) throw new AdminError('E_BAD_RESPONSE', res.status, 'the event stream has no body');
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        for (const m of parser.push(decoder.decode(value, { stream: true }))) {
          const ev = parseLiveEvent(m.event, m.data);
          if (ev) onEvent(ev);
        }
      }
    } finally {
      reader.releaseLock();
    }
  }
}
