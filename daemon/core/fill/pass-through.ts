/**
 * Pass-through of an upstream body that is not stored (disk full): the body
 * is hashed on the fly like a fill, and the last HOLDBACK bytes are held in
 * memory until every expected digest and the size verified. On a mismatch
 * the stream errors instead of ending, so the client sees a failed transfer,
 * never a complete wrong file.
 */
import { Readable } from 'node:stream';
import { LarderError, toLarderError } from '../errors.js';
import { verifyingStream, type FillResult, type FillSpec } from './verify.js';
import type { ServedBlob } from '../served.js';
import type { UpstreamResponse } from '../ports.js';

export interface BypassOptions {
  spec: FillSpec;
  mediaType: string | undefined;
  /** Settles with the outcome once the body was read to its end (or failed). */
  onDone?(outcome: { ok: true; result: FillResult } | { ok: false; error: LarderError }): void;
  /** An unopened body is destroyed after this long (HEAD requests never open it). */
  openWithinMs?: number;
}

/** A ServedBlob (state BYPASS) that streams one upstream response through, verified, without storing it. */
export function bypassBlob(res: UpstreamResponse, opts: BypassOptions): ServedBlob {
  let opened = false;
  let settled = false;
  let settle!: (err: LarderError | undefined) => void;
  const done = new Promise<LarderError | undefined>((r) => (settle = r));
  const finish = (o: Parameters<NonNullable<BypassOptions['onDone']>>[0]): void => {
    if (settled) return;
    settled = true;
    opts.onDone?.(o);
    settle(o.ok ? undefined : o.error);
  };
  const timer = setTimeout(() => {
    if (opened) return;
    opened = true;
    res.body.destroy();
    finish({ ok: false, error: new LarderError('E_UPSTREAM', `${opts.spec.key}: pass-through body was never read`) });
  }, opts.openWithinMs ?? 30_000);
  timer.unref();
  return {
    state: 'BYPASS',
    size: opts.spec.expectedSize,
    mediaType: opts.mediaType,
    digest: undefined,
    done: () => done,
    open(range) {
      if (opened) {
        return new Readable({
          read() {
            this.destroy(new LarderError('E_INTERNAL', `${opts.spec.key}: a pass-through body can be read once`));
          },
        });
      }
      opened = true;
      clearTimeout(timer);
      let result: FillResult | undefined;
      const stream = verifyingStream(res.body, opts.spec, range, (r) => (result = r));
      stream.once('error', (err) => finish({ ok: false, error: toLarderError(err) }));
      stream.once('close', () => {
        if (result) finish({ ok: true, result });
        else finish({ ok: false, error: new LarderError('E_UPSTREAM', `${opts.spec.key}: pass-through did not complete`) });
      });
      return stream;
    },
  };
}
