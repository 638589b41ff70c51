/**
 * The version 2 manifest: JSON lines, written and read one line at a time,
 * so a manifest listing millions of entries is never one string in memory
 * (nor one JSON.parse). The lines, in this order:
 *
 *   {"format":"larder-bundle","version":2,"createdAt":…,"source":{…},"counts":{"blobs":N,"entries":N,"pins":N}}
 *   {"blob":{"digest":"sha256:…","size":N}}      × counts.blobs
 *   {"entry":{…index entry…}}                    × counts.entries (their blobs listed above)
 *   {"pin":{…}}                                  × counts.pins
 *
 * The counts let a reader tell a complete manifest from a cut one; the
 * reader hashes the bytes as they pass (the signature covers that sha256).
 */
import { createHash } from 'node:crypto';
import { LarderError } from '../core/errors.js';
import { addBlob, BUNDLE_FORMAT, type BundleManifest, checkEntry, checkNeeds, checkPin } from './manifest.js';

/** The longest manifest line read (one index entry). */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

const bad = (why: string): LarderError => new LarderError('E_BAD_REQUEST', `not a valid bundle manifest: ${why}`);

/** The manifest's bytes (the exporter plans the whole selection anyway; this is what it streams out). */
export function manifestLines(m: BundleManifest): Buffer {
  const head = {
    format: BUNDLE_FORMAT,
    version: 2,
    createdAt: m.createdAt,
    source: m.source,
    counts: { blobs: m.blobs.length, entries: m.entries.length, pins: m.pins.length },
  };
  const lines = [JSON.stringify(head)];
  for (const blob of m.blobs) lines.push(JSON.stringify({ blob }));
  for (const entry of m.entries) lines.push(JSON.stringify({ entry }));
  for (const pin of m.pins) lines.push(JSON.stringify({ pin }));
  return Buffer.from(`${lines.join('\n')}\n`);
}

async function* splitLines(source: AsyncIterable<Buffer>, onBytes: (b: Buffer) => void): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    onBytes(chunk);
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      if (pendingBytes + nl - start > MAX_LINE_BYTES) throw bad(`a line is longer than ${MAX_LINE_BYTES} bytes`);
      pending.push(chunk.subarray(start, nl));
      yield Buffer.concat(pending).toString('utf8');
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(Buffer.from(chunk.subarray(start)));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) throw bad(`a line is longer than ${MAX_LINE_BYTES} bytes`);
    }
  }
  if (pendingBytes > 0) throw bad('it does not end with a newline (cut short?)');
}

/** Reads a version 2 manifest from its tar body; returns it and the sha256 (hex) of its bytes. */
export async function readManifestStream(source: AsyncIterable<Buffer>): Promise<{ manifest: BundleManifest; sha256: string }> {
  const hash = createHash('sha256');
  const sizes = new Map<string, number>();
  const m: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: 2,
    createdAt: '',
    source: { daemon: '', url: '' },
    blobs: [],
    entries: [],
    pins: [],
  };
  let counts: { blobs: number; entries: number; pins: number } | undefined;
  let stage = 0; // 0 blobs, 1 entries, 2 pins
  for await (const line of splitLines(source, (b) => hash.update(b))) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw bad(`line ${m.blobs.length + m.entries.length + m.pins.length + (counts ? 2 : 1)} is not JSON`);
    }
    if (!counts) {
      const c = doc.counts as Record<string, unknown> | undefined;
      if (doc.format !== BUNDLE_FORMAT || doc.version !== 2) throw bad(`expected format ${BUNDLE_FORMAT} version 2`);
      if (!c || ![c.blobs, c.entries, c.pins].every((n) => Number.isSafeInteger(n) && (n as number) >= 0))
        throw bad('the first line has no counts');
      counts = { blobs: c.blobs as number, entries: c.entries as number, pins: c.pins as number };
      m.createdAt = String(doc.createdAt ?? '');
      const src = (doc.source ?? {}) as Record<string, unknown>;
      m.source = { daemon: String(src.daemon ?? ''), url: String(src.url ?? '') };
      continue;
    }
    if ('blob' in doc && stage === 0) m.blobs.push(addBlob(sizes, doc.blob));
    else if ('entry' in doc && stage <= 1) {
      stage = 1;
      m.entries.push(checkNeeds(sizes, checkEntry(doc.entry, m.entries.length)));
    } else if ('pin' in doc) {
      stage = 2;
      m.pins.push(checkPin(doc.pin));
    } else throw bad('expected blob lines, then entry lines, then pin lines');
    if (m.blobs.length > counts.blobs || m.entries.length > counts.entries || m.pins.length > counts.pins)
      throw bad('it lists more than its first line counts');
  }
  if (!counts) throw bad('it is empty');
  if (m.blobs.length !== counts.blobs || m.entries.length !== counts.entries || m.pins.length !== counts.pins)
    throw bad('it lists fewer lines than its first line counts (cut short?)');
  return { manifest: m, sha256: hash.digest('hex') };
}
