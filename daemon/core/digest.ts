/** Hashing helpers: a multi-algorithm hasher and SRI / digest parsing. */
import { createHash, type Hash } from 'node:crypto';
import { LarderError } from './errors.js';
import type { ExpectedDigest, HashAlgo } from './types.js';

const HEX = /^[0-9a-f]+$/;
const HEX_LEN: Record<HashAlgo, number> = { sha1: 40, sha256: 64, sha512: 128 };

/** Hashes a stream of chunks with sha256 (always) plus the expected algorithms. */
export class MultiHasher {
  private readonly hashes = new Map<HashAlgo, Hash>();
  bytes = 0;

  constructor(algos: Iterable<HashAlgo>) {
    this.hashes.set('sha256', createHash('sha256'));
    for (const a of algos) if (!this.hashes.has(a)) this.hashes.set(a, createHash(a));
  }

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    for (const h of this.hashes.values()) h.update(chunk);
  }

  digests(): Record<HashAlgo, string | undefined> & { sha256: string } {
    const out: Partial<Record<HashAlgo, string>> = {};
    for (const [a, h] of this.hashes) out[a] = h.digest('hex');
    return out as Record<HashAlgo, string | undefined> & { sha256: string };
  }
}

/** Returns the first expected digest that does not match, or undefined when all match. */
export function findMismatch(expected: readonly ExpectedDigest[], actual: Partial<Record<HashAlgo, string>>): ExpectedDigest | undefined {
  return expected.find((e) => actual[e.algo] !== e.hex);
}

/**
 * Parses a Subresource Integrity string (`sha512-<base64> sha1-<base64>`),
 * keeping the algorithms we can check. Unknown algorithms are ignored.
 */
export function parseSri(sri: string): ExpectedDigest[] {
  const out: ExpectedDigest[] = [];
  for (const part of sri.trim().split(/\s+/)) {
    const m = /^(sha512|sha256|sha1)-([A-Za-z0-9+/=_-]+)(\?.*)?$/.exec(part);
    if (!m) continue;
    const algo = m[1] as HashAlgo;
    const hex = Buffer.from(m[2]!, 'base64').toString('hex');
    if (hex.length === HEX_LEN[algo]) out.push({ algo, hex });
  }
  return out;
}

/** Parses `sha256:<hex>` (OCI style) into an expected digest; throws E_BAD_REQUEST. */
export function parseDigest(digest: string): ExpectedDigest {
  const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(digest);
  if (!m || m[2]!.length !== HEX_LEN[m[1] as HashAlgo]) {
    throw new LarderError('E_BAD_REQUEST', `invalid digest ${JSON.stringify(digest.slice(0, 80))}`);
  }
  return { algo: m[1] as HashAlgo, hex: m[2]! };
}

export function isHex(s: string, algo: HashAlgo): boolean {
  return s.length === HEX_LEN[algo] && HEX.test(s);
}

export function sha256Hex(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The strongest of a set of expected digests (for reporting). */
export function strongest(expected: readonly ExpectedDigest[]): ExpectedDigest | undefined {
  const rank: Record<HashAlgo, number> = { sha512: 3, sha256: 2, sha1: 1 };
  return [...expected].sort((a, b) => rank[b.algo] - rank[a.algo])[0];
}
