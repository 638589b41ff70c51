/**
 * The tray app's client of the daemon's admin API: bearer token read from
 * <dataDir>/admin-token, JSON requests, and the live event stream consumed
 * with fetch + SseParser. Uses only the contract types, never daemon code.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiError, Job, JobRequest, LiveEvent, Pin, Stats } from '../../daemon/admin/contract.js';
import { SseParser } from './sse.js';

/** An admin API call that failed, with the API's stable error code. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

/** Reads the daemon's admin token (written by the daemon, mode 0600). */
export async function readAdminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
}

/** Options of {@link AdminClient}. */
export interface AdminClientOptions {
  /** Daemon base URL, e.g. http://127.0.0.1:7420 */
  baseUrl: string;
  /** Returns the admin token (re-read after a 401, since it can be rotated). */
  token: () => Promise<string>;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const LIVE_TYPES = new Set(['stats', 'job', 'pin', 'pin-removed', 'activity']);

/** Turns one SSE message into a LiveEvent (accepts both wire shapes the dashboard does). */
export function toLiveEvent(event: string, data: string): LiveEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { type?: unknown; data?: unknown };
  if (typeof o.type === 'string' && LIVE_TYPES.has(o.type) && 'data' in o) return o as LiveEvent;
  return LIVE_TYPES.has(event) ? ({ type: event, data: v } as LiveEvent) : undefined;
}

/** Typed admin API client. */
export class AdminClient {
  private readonly fetch: typeof fetch;
  private token: string | undefined;

  constructor(private readonly opts: AdminClientOptions) {
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  get baseUrl(): string {
    return this.opts.baseUrl.replace(/\/+$/, '');
  }

  private async send(method: string, path: string, body: unknown, signal: AbortSignal | undefined, retried = false): Promise<Response> {
    this.token ??= await this.opts.token();
    const res = await this.fetch(`${this.baseUrl}/_/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ?? AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
    if (res.status === 401 && !retried) {
      await res.body?.cancel();
      this.token = undefined;
      return this.send(method, path, body, signal, true);
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, undefined);
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const e = (data as ApiError | undefined)?.error;
      throw new AdminApiError(res.status, typeof e?.code === 'string' ? e.code : `E_HTTP_${res.status}`, typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`);
    }
    return data as T;
  }

  stats = (): Promise<Stats> => this.json('GET', '/stats');
  pins = (): Promise<Pin[]> => this.json('GET', '/pins');
  addPin = (ref: string): Promise<Pin> => this.json('POST', '/pins', { ref });
  startJob = (req: JobRequest): Promise<Job> => this.json('POST', '/jobs', req);
  setOffline = (offline: boolean): Promise<{ offline: boolean }> => this.json('POST', '/offline', { offline });
  /** A fresh one-time dashboard login link. */
  loginLink = async (): Promise<string> => (await this.json<{ url: string }>('POST', '/login-link')).url;

  /**
   * Streams live events until the stream ends or `signal` aborts. Resolves
   * on a clean end; rejects on HTTP or network errors (the caller retries).
   */
  async events(onEvent: (ev: LiveEvent) => void, signal: AbortSignal): Promise<void> {
    const res = await this.send('GET', '/events', undefined, signal);
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new AdminApiError(res.status, `E_HTTP_${res.status}`, `event stream answered HTTP ${res.status}`);
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        for (const m of parser.push(decoder.decode(value, { stream: true }))) {
          const ev = toLiveEvent(m.event, m.data);
          if (ev) onEvent(ev);
        }
      }
    } finally {
      reader.releaseLock();
    }
  }
}
