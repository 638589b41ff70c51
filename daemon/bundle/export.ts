/**
 * Writing air-gap bundles: the selection (pins, references, lockfiles, key
 * prefixes) is resolved to index entries (references are warmed first, so
 * their closures are in the cache), then one tar is streamed: the manifest
 * (JSON lines, manifest-stream.ts), its signature when asked to sign
 * (signing.ts), then every blob straight from the store. Its exact length is known before
 * the first byte, so a reader can tell a complete bundle from a cut one.
 */
import { Readable } from 'node:stream';
import { LarderError, toLarderError } from '../core/errors.js';
import { entryDigests } from '../core/eviction.js';
import type { BlobStore, IndexStore } from '../core/ports.js';
import { parseRef } from '../prewarm/refs.js';
import type { Warmer } from '../core/warm.js';
import type { ExpectedDigest } from '../core/types.js';
import type { ExportRequest, Pin } from '../admin/contract.js';
import { planFile, type PlannedItem } from '../prewarm/lockfiles.js';
import { createHash } from 'node:crypto';
import { BUNDLE_FORMAT, blobPath, MANIFEST_NAME, type BundleManifest, type BundlePin } from './manifest.js';
import { manifestLines } from './manifest-stream.js';
import { SIGNATURE_NAME, signatureFor, type SigningKey } from './signing.js';
import { fileHeader, padding, trailer } from './ustar.js';

export interface ExportDeps {
  index: IndexStore;
  blobs: BlobStore;
  warmers: Map<string, Warmer>;
  pins: { list(): Pin[]; byRef(ref: string): { keys: string[]; history: Array<{ keys: string[] }> } | undefined };
  daemonId: string;
  publicUrl(): string;
  /** This daemon's bundle signing key (created on first use). */
  signingKey(): Promise<SigningKey>;
  /**
   * Does the index writes put off behind answers (core/write-behind.ts) now:
   * what was just answered, or warmed, is in the index only once they ran.
   */
  settle?(): Promise<void>;
}

export interface PlannedBundle {
  manifest: BundleManifest;
  manifestBytes: Buffer;
  /** manifest.sig, when signed. */
  signature?: Buffer;
  /** Exact byte length of the tar. */
  length: number;
}

const CONCURRENCY = 8;

/** Warms references (and, with `deps`, their npm dependencies); returns every closure key. */
async function warmAll(d: ExportDeps, items: PlannedItem[], deps: boolean, signal: AbortSignal): Promise<string[]> {
  const keys: string[] = [];
  const seen = new Set<string>();
  const queue: PlannedItem[] = [];
  for (const i of items) {
    if (seen.has(i.ref)) continue;
    seen.add(i.ref);
    queue.push(i);
  }
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const ref = parseRef(item.ref);
      const warmer = d.warmers.get(ref.protocol);
      if (!warmer)
        throw new LarderError(
          'E_BAD_REQUEST',
          `cannot export ${ref.raw}: no ${ref.protocol} warmer is configured (export it by key prefix)`,
        );
      try {
        const expect: ExpectedDigest[] | undefined = item.expect;
        const c = await warmer.warm(ref, { signal, deps, onBytes: () => undefined, ...(expect ? { expect } : {}) });
        keys.push(...c.keys);
        for (const child of deps ? c.children : []) {
          if (seen.has(child)) continue;
          seen.add(child);
          queue.push({ ref: child });
        }
      } catch (err) {
        const e = toLarderError(err);
        throw new LarderError(e.code, `${ref.raw}: ${e.message}`, { cause: err });
      }
    }
  };
  // Workers pick up children queued by others until the queue stays empty.
  while (queue.length) await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return keys;
}

/** Resolves the selection into a manifest (warming references first). */
export async function planExport(d: ExportDeps, req: ExportRequest, signal: AbortSignal): Promise<PlannedBundle> {
  const keys = new Set<string>();
  const pins: BundlePin[] = [];
  if (req.pins) {
    const wanted = Array.isArray(req.pins) ? new Set(req.pins) : undefined;
    for (const p of d.pins.list()) {
      if (wanted && !wanted.has(p.id) && !wanted.has(p.ref)) continue;
      const stored = d.pins.byRef(p.ref);
      if (!stored || p.status === 'resolving')
        throw new LarderError('E_BAD_REQUEST', `pin ${p.ref} has no closure yet (status ${p.status})`);
      for (const k of [...stored.keys, ...stored.history.flatMap((h) => h.keys)]) keys.add(k);
      pins.push({
        ref: p.ref,
        mutable: p.mutable,
        keys: stored.keys,
        size: p.size,
        ...(p.resolved !== undefined ? { resolved: p.resolved } : {}),
      });
    }
    if (wanted && pins.length < wanted.size) throw new LarderError('E_NOT_FOUND', 'some of the requested pins do not exist');
  }
  const items: PlannedItem[] = (req.refs ?? []).map((ref) => ({ ref }));
  for (const f of req.files ?? []) items.push(...planFile(f.name, f.content));
  for (const k of await warmAll(d, items, req.deps === true, signal)) keys.add(k);
  // Bodies answered shortly before (or just warmed) may still wait to be indexed.
  await d.settle?.();
  for (const prefix of req.prefixes ?? []) for (const e of d.index.entries(prefix)) keys.add(e.key);
  if (keys.size === 0) throw new LarderError('E_BAD_REQUEST', 'the selection is empty: give pins, references, lockfiles or key prefixes');

  const entries = [];
  const sizes = new Map<string, number>();
  for (const key of [...keys].sort()) {
    const e = d.index.getEntry(key);
    if (!e) throw new LarderError('E_NOT_FOUND', `${key} is not in the cache any more (evicted?); warm it again`);
    entries.push(e);
    for (const digest of entryDigests(e)) {
      if (sizes.has(digest)) continue;
      const size = await d.blobs.stat(digest);
      if (size === undefined) throw new LarderError('E_NOT_FOUND', `blob ${digest} of ${key} is missing from the store (run larder scrub)`);
      sizes.set(digest, size);
    }
  }
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: 2,
    createdAt: new Date().toISOString(),
    source: { daemon: d.daemonId, url: d.publicUrl() },
    blobs: [...sizes].map(([digest, size]) => ({ digest, size })),
    entries,
    pins,
  };
  const manifestBytes = manifestLines(manifest);
  const signature = req.sign ? signatureFor(await d.signingKey(), createHash('sha256').update(manifestBytes).digest('hex')) : undefined;
  let length = 512 + manifestBytes.length + padding(manifestBytes.length).length + trailer().length;
  if (signature) length += 512 + signature.length + padding(signature.length).length;
  for (const size of sizes.values()) length += 512 + size + padding(size).length;
  return { manifest, manifestBytes, length, ...(signature ? { signature } : {}) };
}

/** Streams the bundle (pull-driven: one blob read at a time, at the reader's pace). */
export function writeBundle(d: ExportDeps, plan: PlannedBundle): Readable {
  async function* parts(): AsyncGenerator<Buffer> {
    const body = plan.manifestBytes;
    yield Buffer.concat([fileHeader(MANIFEST_NAME, body.length), body, padding(body.length)]);
    const sig = plan.signature;
    if (sig) yield Buffer.concat([fileHeader(SIGNATURE_NAME, sig.length), sig, padding(sig.length)]);
    for (const { digest, size } of plan.manifest.blobs) {
      yield fileHeader(blobPath(digest), size);
      let n = 0;
      for await (const chunk of d.blobs.createReadStream(digest) as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > size) throw new LarderError('E_STORAGE', `blob ${digest} grew while it was exported`);
        yield chunk;
      }
      if (n !== size) throw new LarderError('E_STORAGE', `blob ${digest} is ${n} bytes, expected ${size}`);
      yield padding(size);
    }
    yield trailer();
  }
  return Readable.from(parts(), { objectMode: false, highWaterMark: 1024 * 1024 });
}
