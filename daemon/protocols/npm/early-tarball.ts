/**
 * A cold tarball needs its packument first (the packument holds the
 * digests it is verified against and its upstream URL), which makes a cold
 * miss cost two upstream round trips in a row. The tarball is nearly always
 * at its conventional URL (`<registry>/<name>/-/<file>`), so its request is
 * sent while the packument is fetched; the fill takes the response only if
 * the packument names that very URL, and the response waits unread (TCP
 * backpressure) until then. Verification is unchanged: the fill still gets
 * the packument's digests before it reads a byte.
 *
 * One early request per tarball key, taken by whichever fill starts; an
 * early request nobody took is discarded.
 */
import type { UpstreamResponse } from '../../core/ports.js';

interface Early {
  url: string;
  res: Promise<UpstreamResponse>;
}

export class EarlyTarballs {
  private readonly pending = new Map<string, Early>();

  /**
   * Sends `send()` for `key` unless an early request for it is already out.
   * Returns the function that discards it if no fill took it (call it once
   * the caller's own fill started or failed).
   */
  start(key: string, url: string, send: () => Promise<UpstreamResponse>): () => void {
    if (this.pending.has(key)) return () => undefined;
    const early: Early = { url, res: send() };
    // Taken or not, a failure is the taker's to report (or nobody's).
    early.res.catch(() => undefined);
    this.pending.set(key, early);
    return () => {
      if (this.pending.get(key) !== early) return;
      this.pending.delete(key);
      early.res.then(
        (r) => r.body.destroy(),
        () => undefined,
      );
    };
  }

  /** The early response for `key` if it went to `url` (the taker owns it from now on). */
  take(key: string, url: string): Promise<UpstreamResponse> | undefined {
    const early = this.pending.get(key);
    if (!early || early.url !== url) return undefined;
    this.pending.delete(key);
    return early.res;
  }

  /** Early requests not taken yet (a gauge for tests). */
  get size(): number {
    return this.pending.size;
  }
}
