/**
 * Pass-through of an upstream body that is not stored (disk full): the body
 * is hashed on the fly like a fill, and the last HOLDBACK bytes are held in
 * memory until every expected digest and the size verified. On a mismatch
 * the stream errors instead of ending, so the client sees a failed transfer,
 * never a complete wrong file.
 */
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { LarderError, toLarderError } from './errors.js';
import { MultiHasher, findMismatch } from './digest.js';
import { HOLDBACK, type FillResult, type FillSpec } from './fill.js';
import type { ByteRange, ServedBlob } from './served.js';
import type { UpstreamResponse } from './ports.js';

/** Verifies `body` against `spec` while streaming it, optionally cutting out an inclusive byte range. */
export function verifyingStream(body: Readable, spec: FillSpec, range?: ByteRange, onResult?: (r: FillResult) => void): Readable {
  const hasher = new MultiHasher(spec.expected.map((e) => e.algo));
  const held: Buffer[] = [];
  let heldBytes = 0;
  let out = 0;
  const emit = (t: Transform, buf: Buffer): void => {
    const start = out;
    out += buf.length;
    if (!range) return void t.push(buf);
    const from = Math.max(range.start, start);
    const to = Math.min(range.end + 1, out);
    if (from < to) t.push(buf.subarray(from - start, to - start));
  };
  const verifier = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hasher.update(chunk);
      if (spec.maxBytes !== undefined && hasher.bytes > spec.maxBytes) {
        return cb(new LarderError('E_UPSTREAM', `${spec.key}: upstream body exceeds ${spec.maxBytes} bytes`));
      }
      held.push(chunk);
      heldBytes += chunk.length;
      while (heldBytes > HOLDBACK) {
        const first = held[0]!;
        const release = Math.min(first.length, heldBytes - HOLDBACK);
        if (release === first.length) held.shift();
        else held[0] = first.subarray(release);
        heldBytes -= release;
        emit(this, release === first.length ? first : first.subarray(0, release));
      }
      cb();
    },
    flush(cb: TransformCallback) {
      const digests = hasher.digests();
      if (spec.expectedSize !== undefined && hasher.bytes !== spec.expectedSize) {
        return cb(new LarderError('E_INTEGRITY', `${spec.key}: expected ${spec.expectedSize} bytes, got ${hasher.bytes}`));
      }
      const bad = findMismatch(spec.expected, digests);
      if (bad) return cb(new LarderError('E_INTEGRITY', `${spec.key}: ${bad.algo} mismatch`, { details: { algo: bad.algo, expected: bad.hex } }));
      for (const b of held.splice(0)) emit(this, b);
      onResult?.({ digest: `sha256:${digests.sha256}`, size: hasher.bytes, digests });
      cb();
    },
  });
  // pipeline destroys the upstream body when the client goes away, and the client stream on upstream errors.
  pipeline(body, verifier, () => undefined);
  return verifier;
}

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
  let settle!: () => void;
  const done = new Promise<void>((r) => (settle = r));
  const finish = (o: Parameters<NonNullable<BypassOptions['onDone']>>[0]): void => {
    if (settled) return;
    settled = true;
    opts.onDone?.(o);
    settle();
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
    done,
    open(range) {
      if (opened) {
        return new Readable({ read() { this.destroy(new LarderError('E_INTERNAL', `${opts.spec.key}: a pass-through body can be read once`)); } });
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
