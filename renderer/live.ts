/**
 * The live event stream (`/_/api/v1/events`, server-sent events) with
 * reconnection. Accepts both wire shapes a daemon may use: unnamed messages
 * whose data is a whole LiveEvent (`{"type":"stats","data":{…}}`), and named
 * events (`event: stats`) whose data is either a LiveEvent or its payload.
 */
import type { LiveEvent } from '../daemon/admin/contract.js';
import { apiPath } from './api.js';

/** Connection state shown in the header. */
export type LiveStatus = 'connecting' | 'open' | 'retrying';

const TYPES: ReadonlyArray<LiveEvent['type']> = ['stats', 'job', 'pin', 'pin-removed', 'activity'];

/** Parses one SSE message into a LiveEvent, or undefined when it is not one. */
export function parseLiveEvent(eventName: string, raw: string): LiveEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const obj = data as { type?: unknown; data?: unknown };
  if (typeof obj.type === 'string' && (TYPES as readonly string[]).includes(obj.type) && 'data' in obj) {
    return obj as LiveEvent;
  }
  if ((TYPES as readonly string[]).includes(eventName)) {
    return { type: eventName, data } as LiveEvent;
  }
  return undefined;
}

/** Options of {@link connectLive}. */
export interface LiveOptions {
  onEvent(ev: LiveEvent): void;
  onStatus(status: LiveStatus): void;
  /** Called after the stream (re)opens, e.g. to reload lists that may have missed events. */
  onOpen?(): void;
}

/** Opens the stream and keeps it open; returns a function that closes it. */
export function connectLive(opts: LiveOptions): () => void {
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = 1000;
  let closed = false;

  const onMessage = (name: string) => (e: MessageEvent<string>) => {
    const ev = parseLiveEvent(name, e.data);
    if (ev) opts.onEvent(ev);
  };

  const open = (): void => {
    if (closed) return;
    opts.onStatus('connecting');
    const es = new EventSource(apiPath('/events'), { withCredentials: true });
    source = es;
    es.addEventListener('open', () => {
      delay = 1000;
      opts.onStatus('open');
      opts.onOpen?.();
    });
    es.addEventListener('message', onMessage('message'));
    for (const t of TYPES) es.addEventListener(t, onMessage(t) as EventListener);
    es.addEventListener('error', () => {
      // EventSource retries by itself while CONNECTING; once CLOSED (HTTP
      // error, e.g. 401) we retry with backoff.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        opts.onStatus('retrying');
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 30_000);
      } else {
        opts.onStatus('retrying');
      }
    });
  };

  open();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    source?.close();
  };
}
