/**
 * Verification of a regular (non-LFS) repository file by its git blob id:
 * sha1 of `blob <size>\0` followed by the content, as the Hub's tree listing
 * publishes it (`oid`). The core's verifier hashes the body alone, so the
 * check runs here, on the upstream body before the fill pipeline reads it:
 * a mismatch errors the body instead of ending it, which the pipeline treats
 * like any failed body (nothing committed; the client sees a broken
 * transfer, as the core holds back the last bytes until the end).
 */
import { createHash } from 'node:crypto';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { LarderError } from '../../core/errors.js';

/** The git blob id of a whole body (tests, fixtures). */
export function gitBlobId(body: Buffer): string {
  return createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
}

/** `body` passed through unchanged, erroring at its end unless it is `size` bytes with git blob id `oid`. */
export function gitBlobChecked(body: Readable, size: number, oid: string, key: string): Readable {
  const hash = createHash('sha1').update(`blob ${size}\0`);
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (seen !== size) return cb(new LarderError('E_INTEGRITY', `${key}: expected ${size} bytes, got ${seen}`));
      const actual = hash.digest('hex');
      if (actual !== oid) {
        return cb(new LarderError('E_INTEGRITY', `${key}: git blob id mismatch`, { details: { algo: 'git-sha1', expected: oid, actual } }));
      }
      cb();
    },
  });
  pipeline(body, check, () => undefined);
  return check;
}
