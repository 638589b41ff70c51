/**
 * Checksums a generic remote publishes for its files: Maven sidecar files
 * (`<file>.sha1`, `<file>.sha256`, holding the hex digest, optionally
 * followed by a file name) and `x-checksum-sha1` / `x-checksum-sha256`
 * response headers (Maven Central, Artifactory, Nexus).
 */
import { isHex } from '../../core/digest.js';
import { header } from '../../core/upstream-status.js';
import type { UpstreamResponse } from '../../core/ports.js';
import type { ExpectedDigest, HashAlgo } from '../../core/types.js';

/** Sidecars tried, in order, to verify a Maven release file. */
export const SIDECAR_ALGOS: ReadonlyArray<{ suffix: string; algo: HashAlgo }> = [
  { suffix: '.sha1', algo: 'sha1' },
  { suffix: '.sha256', algo: 'sha256' },
];

/** Parses a sidecar body; undefined when it does not hold a digest of that algorithm. */
export function parseSidecar(body: Buffer, algo: HashAlgo): ExpectedDigest | undefined {
  if (body.length > 4096) return undefined;
  const token = body.toString('utf8').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return isHex(token, algo) ? { algo, hex: token } : undefined;
}

const CHECKSUM_HEADERS: ReadonlyArray<[string, HashAlgo]> = [
  ['x-checksum-sha1', 'sha1'],
  ['x-checksum-sha256', 'sha256'],
];

/** Digests announced in `x-checksum-*` response headers (malformed values are ignored). */
export function checksumHeaders(res: UpstreamResponse): ExpectedDigest[] {
  const out: ExpectedDigest[] = [];
  for (const [name, algo] of CHECKSUM_HEADERS) {
    const v = header(res, name)?.trim().toLowerCase();
    if (v && isHex(v, algo)) out.push({ algo, hex: v });
  }
  return out;
}
