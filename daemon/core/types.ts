/** Shared value types of the cache core. */

/** What answered a request, reported in `X-Larder-Cache`. */
export type CacheState = 'HIT' | 'MISS' | 'REVALIDATED' | 'STALE' | 'BYPASS';

export type HashAlgo = 'sha256' | 'sha512' | 'sha1';

/** One expected digest; `hex` is lower-case hexadecimal. */
export interface ExpectedDigest {
  algo: HashAlgo;
  hex: string;
}

/** Upstream validators kept with a mutable entry. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

/** A named body derived from a mutable upstream document (e.g. full/abbreviated packument). */
export interface VariantRef {
  digest: string;
  size: number;
  mediaType: string;
  etag: string;
}

/**
 * One index row: request key → content. `digest` is `sha256:<hex>` of the
 * stored bytes (for mutable entries, of the raw upstream document).
 */
export interface Entry {
  key: string;
  digest: string;
  size: number;
  mediaType?: string;
  /** Digests the protocol supplied and that were verified, e.g. `{sha512: hex}`. */
  verified?: Partial<Record<HashAlgo, string>>;
  validators?: Validators;
  fetchedAt: number;
  /** Absolute ms time after which the entry must be revalidated; Infinity-like for immutable. */
  expiresAt: number;
  immutable: boolean;
  /** Variants derived from the raw body (mutable documents only). */
  variants?: Record<string, VariantRef>;
  /** Opaque tag of the code/config that derived the variants. */
  deriveTag?: string;
  /** Protocol-specific small metadata. */
  meta?: Record<string, string | number | boolean>;
}

/** One body derived from a mutable upstream document, before it is stored. */
export interface DerivedVariant {
  body: Buffer;
  mediaType: string;
}

/** What a protocol derives from a mutable upstream document: its named variants and small metadata. */
export interface Derived {
  variants: Record<string, DerivedVariant>;
  meta?: Entry['meta'];
}

/** A blob row: digest → bookkeeping. */
export interface BlobMeta {
  size: number;
  createdAt: number;
  lastAccess: number;
}

export const IMMUTABLE_EXPIRY = 8.64e15;

export function sha256Digest(hex: string): string {
  return `sha256:${hex}`;
}

export function hexOfDigest(digest: string): string {
  const i = digest.indexOf(':');
  return i < 0 ? digest : digest.slice(i + 1);
}
