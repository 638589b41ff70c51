/**
 * The live event stream (`/_/api/v1/events`, server-sent events) with
 * reconnection, through the browser's EventSource (it sends the session
 * cookie and reconnects by itself); messages are decoded by the shared
 * client's parseLiveEvent.
 */
import { LIVE_EVENT_TYPES, parseLiveEvent } from '../daemon/admin/client-decode.js';
import type { LiveEvent } from '../daemon/admin/contract.js';
import { apiPath } from './api.js';

export { parseLiveEvent };

/** Connection state shown in the header. */
export type LiveStatus = 'connecting' | 'open' | 'retrying';

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
    for (const t of LIVE_EVENT_TYPES) es.addEventListener(t, onMessage(t) as EventListener);
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
