/**
 * The air-gap bundle format: one tar file, readable by standard tools.
 *
 * Version 2 (written since bundles are signed):
 *   manifest.jsonl             first: JSON lines (see manifest-stream.ts), read as a stream
 *   manifest.sig               when signed: Ed25519 over the manifest's sha256 (signing.ts)
 *   blobs/sha256/<64 hex>      every blob, named by the sha256 of its bytes
 *
 * Version 1 (`manifest.json`, one JSON document, no signature) is still
 * read, only when the import allows unsigned bundles.
 *
 * Index entries are stored as the daemon keeps them (key, digest, variants,
 * verified digests, validators…); an importing daemon must configure the
 * same remote names, which are part of the keys (`npm:<remote>:…`).
 */
import { LarderError } from '../core/errors.js';
import type { Entry } from '../core/types.js';

export const MANIFEST_NAME = 'manifest.jsonl';
export const MANIFEST_V1_NAME = 'manifest.json';
export const BUNDLE_FORMAT = 'larder-bundle';
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

export interface BundlePin {
  ref: string;
  mutable: boolean;
  resolved?: string;
  keys: string[];
  size: number;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: 1 | 2;
  createdAt: string;
  source: { daemon: string; url: string };
  blobs: Array<{ digest: string; size: number }>;
  entries: Entry[];
  pins: BundlePin[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HEX = /^[0-9a-f]+$/;

/** Tar entry name of a blob. */
export function blobPath(digest: string): string {
  return `blobs/sha256/${digest.slice(7)}`;
}

/** The digest a tar entry name stands for, or undefined. */
export function digestOfPath(name: string): string | undefined {
  const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
  return m ? `sha256:${m[1]}` : undefined;
}

const bad = (why: string): LarderError => new LarderError('E_BAD_REQUEST', `not a valid bundle manifest: ${why}`);

export function checkEntry(e: unknown, i: number): Entry {
  const x = e as Partial<Entry> | null;
  if (typeof x !== 'object' || x === null || typeof x.key !== 'string' || !x.key || x.key.length > 4096)
    throw bad(`entries[${i}] has no key`);
  if (typeof x.digest !== 'string' || !DIGEST.test(x.digest)) throw bad(`entry ${x.key} has no sha256 digest`);
  if (!Number.isSafeInteger(x.size) || (x.size ?? -1) < 0) throw bad(`entry ${x.key} has no size`);
  if (typeof x.fetchedAt !== 'number' || typeof x.expiresAt !== 'number' || typeof x.immutable !== 'boolean')
    throw bad(`entry ${x.key} lacks times`);
  for (const [name, v] of Object.entries(x.variants ?? {})) {
    if (typeof v !== 'object' || v === null || !DIGEST.test(String(v.digest)) || !Number.isSafeInteger(v.size))
      throw bad(`entry ${x.key} variant ${name} is malformed`);
  }
  for (const [algo, hex] of Object.entries(x.verified ?? {})) {
    if (!['sha1', 'sha256', 'sha512'].includes(algo) || typeof hex !== 'string' || !HEX.test(hex))
      throw bad(`entry ${x.key} has a malformed ${algo} digest`);
  }
  return x as Entry;
}

/** Checks a blob line and adds it to `sizes`. */
export function addBlob(sizes: Map<string, number>, b: unknown): { digest: string; size: number } {
  const x = b as { digest?: unknown; size?: unknown } | null;
  if (typeof x !== 'object' || x === null || !DIGEST.test(String(x.digest)) || !Number.isSafeInteger(x.size) || (x.size as number) < 0)
    throw bad('a blob is malformed');
  const digest = x.digest as string;
  if (sizes.has(digest)) throw bad(`blob ${digest} is listed twice`);
  sizes.set(digest, x.size as number);
  return { digest, size: x.size as number };
}

/** Every digest an entry names must be listed (before it) with the same size. */
export function checkNeeds(sizes: ReadonlyMap<string, number>, e: Entry): Entry {
  const needed: Array<[string, number]> = [
    [e.digest, e.size],
    ...Object.values(e.variants ?? {}).map((v): [string, number] => [v.digest, v.size]),
  ];
  for (const [d, size] of needed) {
    if (sizes.get(d) !== size) throw bad(`entry ${e.key} needs ${d} (${size} bytes), which the bundle does not list with that size`);
  }
  return e;
}

export function checkPin(p: unknown): BundlePin {
  const x = p as Partial<BundlePin> | null;
  if (typeof x?.ref !== 'string' || !Array.isArray(x.keys) || x.keys.some((k) => typeof k !== 'string')) throw bad('a pin is malformed');
  return x as BundlePin;
}

/** Parses and checks a version 1 manifest (manifest.json); every digest an entry names must be listed with the same size. */
export function parseManifest(text: string): BundleManifest {
  let doc: Partial<BundleManifest>;
  try {
    doc = JSON.parse(text) as Partial<BundleManifest>;
  } catch {
    throw bad('it is not JSON');
  }
  if (doc.format !== BUNDLE_FORMAT || doc.version !== 1) throw bad(`expected format ${BUNDLE_FORMAT} version 1`);
  if (!Array.isArray(doc.blobs) || !Array.isArray(doc.entries)) throw bad('blobs and entries must be arrays');
  const sizes = new Map<string, number>();
  for (const b of doc.blobs) addBlob(sizes, b);
  const entries = doc.entries.map((e, i) => checkNeeds(sizes, checkEntry(e, i)));
  const pins = Array.isArray(doc.pins) ? doc.pins.map(checkPin) : [];
  return { ...(doc as BundleManifest), entries, pins };
}
