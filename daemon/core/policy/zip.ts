/**
 * A small reader of zip archives in memory, enough for OSV exports (the
 * `all.zip` of an ecosystem at osv.dev is a flat zip of JSON records):
 * the end-of-central-directory record, then each central directory entry
 * and its local header; stored (0) and deflated (8) entries, each checked
 * against its CRC-32 and size. Zip64, encryption and spanned archives are
 * refused. No npm zip reader is a production dependency of Larder (yauzl is
 * in the tree only through the Electron packager), so this uses node's zlib.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { LarderError } from '../errors.js';

export interface ZipEntry {
  name: string;
  data: Buffer;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** The largest entry inflated (an OSV record is a few KiB; a whole export has many small files). */
const MAX_ENTRY = 64 * 1024 * 1024;
/** The most bytes one archive may inflate to in all (entries that share their data would otherwise multiply it). */
const MAX_TOTAL = 512 * 1024 * 1024;

const bad = (where: string, why: string): LarderError =>
  new LarderError('E_BAD_REQUEST', `${where}: not a zip archive Larder reads (${why})`);

function endRecord(zip: Buffer, where: string): number {
  // The record is 22 bytes plus a comment of at most 65535.
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) if (zip.readUInt32LE(i) === EOCD) return i;
  throw bad(where, 'no end of central directory');
}

/** Each file entry of the archive (folders left out) with its bytes, or those whose name `want` accepts. */
export function readZip(zip: Buffer, where: string, want: (name: string) => boolean = () => true): ZipEntry[] {
  const end = endRecord(zip, where);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  if (count === 0xffff || at === 0xffffffff) throw bad(where, 'zip64');
  const out: ZipEntry[] = [];
  const central = at;
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== CENTRAL) throw bad(where, 'broken central directory');
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const packed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    at += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/') || !want(name)) continue;
    if (flags & 1) throw bad(where, `${name} is encrypted`);
    if (size > MAX_ENTRY || packed === 0xffffffff) throw bad(where, `${name} is too large`);
    total += size;
    if (total > MAX_TOTAL) throw bad(where, `it inflates to more than ${MAX_TOTAL} bytes`);
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== LOCAL) throw bad(where, `no local header for ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + packed);
    if (raw.length !== packed || start + packed > central) throw bad(where, `${name} is truncated or overlaps the directory`);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: MAX_ENTRY });
      } catch (err) {
        throw bad(where, `${name} does not inflate: ${(err as Error).message}`);
      }
    } else throw bad(where, `${name} uses compression method ${method}`);
    if (data.length !== size || crc32(data) !== crc) throw bad(where, `${name} does not match its CRC-32 or size`);
    out.push({ name, data });
  }
  return out;
}
