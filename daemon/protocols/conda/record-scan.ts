/**
 * Finds package records in a repodata.json stream without parsing the
 * document whole (it can be hundreds of MB): the bytes are scanned for keys
 * ending `.conda"` or `.tar.bz2"` that are followed by `:` and an object,
 * and only the records of the wanted file names are cut out and parsed.
 * Memory stays bounded by the chunk size plus one record. Inside valid JSON
 * such a key can only be a package record's key in `packages` or
 * `packages.conda` (a quote inside a string value is escaped; `removed`
 * lists names as array items, never followed by `:`).
 */
import type { Readable } from 'node:stream';

/** What Larder verifies a package against. */
export interface PackageRecord {
  sha256?: string;
  size?: number;
}

const NEEDLES = [Buffer.from('.conda"'), Buffer.from('.tar.bz2"')];
const QUOTE = 0x22;
/** Bytes kept between chunks when no record is open (longer than any file name). */
const KEEP = 512;
/** A record larger than this is skipped (real ones are a few KB). */
const MAX_RECORD = 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** The end (index of the closing brace) of the object starting at `start`, or -1 when the buffer ends first. */
function objectEnd(buf: Buffer, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function toRecord(json: string): PackageRecord {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return {};
  }
  if (typeof v !== 'object' || v === null) return {};
  const o = v as Record<string, unknown>;
  const out: PackageRecord = {};
  if (typeof o.sha256 === 'string' && HEX64.test(o.sha256.toLowerCase())) out.sha256 = o.sha256.toLowerCase();
  if (typeof o.size === 'number' && Number.isSafeInteger(o.size) && o.size >= 0) out.size = o.size;
  return out;
}

type Step = { found: string; record: PackageRecord; next: number } | { skip: number } | { wait: number };

/** Looks at the key ending at `quote` (its closing quote): a wanted record, something else, or more bytes needed. */
function atKey(buf: Buffer, quote: number, wanted: ReadonlySet<string>): Step {
  const open = buf.lastIndexOf(QUOTE, quote - 1);
  if (open < 0 || quote - open > KEEP) return { skip: quote + 1 };
  const name = buf.toString('utf8', open + 1, quote);
  if (!wanted.has(name)) return { skip: quote + 1 };
  let i = quote + 1;
  while (isSpace(buf[i])) i++;
  if (i >= buf.length) return { wait: open };
  if (buf[i] !== 0x3a) return { skip: quote + 1 };
  i++;
  while (isSpace(buf[i])) i++;
  if (i >= buf.length) return { wait: open };
  if (buf[i] !== 0x7b) return { skip: quote + 1 };
  const end = objectEnd(buf, i);
  if (end < 0) return buf.length - open > MAX_RECORD ? { skip: quote + 1 } : { wait: open };
  return { found: name, record: toRecord(buf.toString('utf8', i, end + 1)), next: end + 1 };
}

/** Finds needle hits in one buffer, searching each needle again only once the scan passed its last hit. */
class KeyFinder {
  private readonly next = NEEDLES.map(() => -2);

  constructor(private readonly buf: Buffer) {}

  /** The closing quote of the next key ending in a needle at or after `from`, or -1. */
  find(from: number): number {
    let best = -1;
    NEEDLES.forEach((n, i) => {
      if (this.next[i] === -2 || (this.next[i]! >= 0 && this.next[i]! < from)) this.next[i] = this.buf.indexOf(n, from);
      const at = this.next[i]!;
      if (at >= 0 && (best < 0 || at + n.length - 1 < best)) best = at + n.length - 1;
    });
    return best;
  }
}

/**
 * Reads `stream` until every wanted file name is found (then stops reading)
 * or it ends; resolves with the records found. A failing stream rejects.
 */
export async function scanRecords(stream: Readable, wanted: ReadonlySet<string>): Promise<Map<string, PackageRecord>> {
  const found = new Map<string, PackageRecord>();
  const left = new Set(wanted);
  let carry = Buffer.alloc(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      let pos = 0;
      let keepFrom = Math.max(0, buf.length - KEEP);
      const keys = new KeyFinder(buf);
      for (let q = keys.find(pos); q >= 0; q = keys.find(pos)) {
        const step = atKey(buf, q, left);
        if ('wait' in step) {
          keepFrom = Math.min(keepFrom, step.wait);
          break;
        }
        if ('skip' in step) {
          pos = step.skip;
          continue;
        }
        found.set(step.found, step.record);
        left.delete(step.found);
        pos = step.next;
        if (left.size === 0) return found;
      }
      carry = Buffer.from(buf.subarray(keepFrom));
    }
    return found;
  } finally {
    stream.destroy();
  }
}
