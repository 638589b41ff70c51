/**
 * Parsers for the apt repository files Larder reads (Debian repository
 * format): the `SHA256` list of a Release/InRelease file and the
 * `Filename`/`SHA256`/`Size` fields of a Packages index, plus decompression
 * of compressed indexes (gzip in-process; xz and bzip2 through the `xz` and
 * `bzip2` commands when present).
 */
import { spawn } from 'node:child_process';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(gunzip);

/** Largest decompressed index Larder parses. */
export const MAX_INDEX_BYTES = 512 * 1024 * 1024;

export interface HashedFile {
  hex: string;
  size: number;
}

export interface ParsedRelease {
  /** `Acquire-By-Hash: yes`: indexes are also published under by-hash/SHA256/<hex>. */
  byHash: boolean;
  /** Path relative to the suite directory → SHA256 and size. */
  files: Map<string, HashedFile>;
  /** SHA256 hex → path relative to the suite directory. */
  byHex: Map<string, string>;
}

/** Strips the OpenPGP clearsign armour of an InRelease file (a plain Release passes through). */
function clearsignedText(text: string): string {
  if (!text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return text;
  const start = text.indexOf('\n\n');
  const end = text.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  return text.slice(start < 0 ? 0 : start + 2, end < 0 ? undefined : end);
}

export function parseRelease(body: Buffer): ParsedRelease {
  const out: ParsedRelease = { byHash: false, files: new Map(), byHex: new Map() };
  let section = '';
  for (const line of clearsignedText(body.toString('utf8')).split('\n')) {
    if (line.startsWith(' ')) {
      if (section !== 'sha256') continue;
      const [hex, size, path] = line.trim().split(/\s+/);
      if (!hex || !path || !/^[0-9a-f]{64}$/i.test(hex) || !/^\d+$/.test(size ?? '')) continue;
      const h = hex.toLowerCase();
      out.files.set(path, { hex: h, size: Number(size) });
      out.byHex.set(h, path);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const field = line.slice(0, colon).toLowerCase();
    section = field;
    if (field === 'acquire-by-hash')
      out.byHash =
        line
          .slice(colon + 1)
          .trim()
          .toLowerCase() === 'yes';
  }
  return out;
}

/** The compression suffix of a Packages index name (`''` = none), or undefined when it is not one. */
export function packagesCompression(name: string): string | undefined {
  const m = /(?:^|\/)Packages(\.(?:gz|xz|bz2))?$/.exec(name);
  return m ? (m[1] ?? '') : undefined;
}

/** Filename → SHA256/size of every stanza of a Packages index. */
export function parsePackages(text: string): Map<string, HashedFile> {
  const out = new Map<string, HashedFile>();
  let file: string | undefined;
  let hex: string | undefined;
  let size: number | undefined;
  const flush = (): void => {
    if (file && hex && /^[0-9a-f]{64}$/.test(hex)) out.set(file, { hex, size: size ?? -1 });
    file = hex = size = undefined;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.startsWith('Filename:')) file = line.slice(9).trim();
    else if (line.startsWith('SHA256:')) hex = line.slice(7).trim().toLowerCase();
    else if (line.startsWith('Size:')) size = Number(line.slice(5).trim());
  }
  flush();
  return out;
}

function viaCommand(cmd: string, body: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const child = spawn(cmd, ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let n = 0;
    child.on('error', () => resolve(undefined));
    child.stdout.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_INDEX_BYTES) child.kill();
      else chunks.push(c);
    });
    child.on('close', (code) => resolve(code === 0 && n <= MAX_INDEX_BYTES ? Buffer.concat(chunks) : undefined));
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
  });
}

/** Decompresses an index by its suffix; undefined when it cannot be read. */
export async function decompress(body: Buffer, compression: string): Promise<Buffer | undefined> {
  try {
    if (compression === '') return body;
    if (compression === '.gz') return await gunzipAsync(body, { maxOutputLength: MAX_INDEX_BYTES });
    if (compression === '.xz') return await viaCommand('xz', body);
    if (compression === '.bz2') return await viaCommand('bzip2', body);
  } catch {
    return undefined;
  }
  return undefined;
}
