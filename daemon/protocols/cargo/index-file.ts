/**
 * What Larder reads from the sparse index: an index file (one JSON line
 * per published version, served byte for byte, yanked ones included) gives
 * each version's `cksum`, the sha256 its `.crate` is verified against, and
 * its `pubtime` when the line carries one (the policy's age gate); the
 * registry's `config.json` gives the `dl` template downloads are fetched
 * from, and is answered with a `dl` pointing back at Larder (no `api`:
 * Larder is read-only, so publishing goes to the registry itself).
 */
import type { Derived } from '../../core/types.js';
import { LarderError } from '../../core/errors.js';
import { indexPrefix } from './names.js';

/** A crate's published versions: its name as the index spells it, each version's sha256, and publish times where given. */
export interface CrateVersions {
  name: string;
  cksums: Record<string, string>;
  /** ms since the epoch, from a line's `pubtime` (crates.io adds it to new index lines; older lines have none). */
  published: Record<string, number>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the versions of an index file; lines that are not a version record are skipped. */
export function parseIndexFile(raw: Buffer, crate: string): CrateVersions {
  const out: CrateVersions = { name: crate, cksums: {}, published: {} };
  let records = 0;
  let lines = 0;
  for (const line of raw.toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    lines++;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isObject(rec) || typeof rec.name !== 'string' || typeof rec.vers !== 'string') continue;
    if (rec.name.toLowerCase() !== crate) continue;
    records++;
    out.name = rec.name;
    const cksum = typeof rec.cksum === 'string' ? rec.cksum.toLowerCase() : '';
    if (HEX64.test(cksum)) out.cksums[rec.vers] = cksum;
    const t = typeof rec.pubtime === 'string' ? Date.parse(rec.pubtime) : Number.NaN;
    if (Number.isFinite(t)) out.published[rec.vers] = t;
  }
  if (lines > 0 && records === 0) throw new LarderError('E_UPSTREAM', `the upstream index file of ${crate} has no version record of it`);
  return out;
}

/** The served forms of an index file: the upstream's bytes, and the version → cksum map. */
export function deriveIndexFile(raw: Buffer, crate: string): Derived {
  const versions = parseIndexFile(raw, crate);
  return {
    variants: {
      body: { body: raw, mediaType: TEXT },
      versions: { body: Buffer.from(JSON.stringify(versions)), mediaType: JSON_TYPE },
    },
    meta: { versions: Object.keys(versions.cksums).length, newest: Math.max(0, ...Object.values(versions.published)) },
  };
}

/** The served `config.json` (its `dl` is `dlBase`) and the upstream's `dl` template. */
export function deriveConfig(raw: Buffer, dlBase: string): Derived {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new LarderError('E_UPSTREAM', 'the upstream config.json is not valid JSON');
  }
  if (!isObject(doc) || typeof doc.dl !== 'string' || !doc.dl) {
    throw new LarderError('E_UPSTREAM', 'the upstream config.json has no "dl" download URL');
  }
  return {
    variants: {
      body: { body: Buffer.from(`${JSON.stringify({ dl: dlBase })}\n`), mediaType: JSON_TYPE },
      dl: { body: Buffer.from(doc.dl), mediaType: TEXT },
    },
  };
}

const MARKERS = ['{crate}', '{version}', '{prefix}', '{lowerprefix}', '{sha256-checksum}'];

/** A download URL from a `dl` template, as cargo builds it (markers, else `/<crate>/<version>/download` appended). */
export function downloadUrl(template: string, name: string, version: string, cksum: string): string {
  if (!MARKERS.some((m) => template.includes(m))) return `${template}/${name}/${version}/download`;
  const prefix = indexPrefix(name);
  return template
    .replaceAll('{crate}', name)
    .replaceAll('{version}', version)
    .replaceAll('{prefix}', prefix)
    .replaceAll('{lowerprefix}', prefix.toLowerCase())
    .replaceAll('{sha256-checksum}', cksum);
}
