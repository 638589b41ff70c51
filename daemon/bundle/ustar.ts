/**
 * A minimal streaming tar (POSIX ustar) writer and reader for air-gap
 * bundles: regular files only, names up to 100 bytes (pax `path` records are
 * read), sizes beyond 8 GiB in GNU base-256 form. Bodies stream in both
 * directions with backpressure, so memory stays flat whatever the bundle size.
 */
import { LarderError } from '../core/errors.js';

const BLOCK = 512;
const ZERO = Buffer.alloc(BLOCK * 2);

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** The 512-byte header of a regular file. */
export function fileHeader(name: string, size: number, mtime = Date.now()): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new TypeError(`expected a tar entry name of at most 100 bytes, got ${name}`);
  const h = Buffer.alloc(BLOCK);
  nameBytes.copy(h, 0);
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  if (size < 8 ** 11) h.write(octal(size, 12), 124, 'ascii');
  else {
    // GNU base-256: high bit set, big-endian binary in the remaining bytes.
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  h.write(octal(Math.floor(mtime / 1000), 12), 136, 'ascii');
  h.fill(0x20, 148, 156);
  h.write('0', 156, 'ascii');
  h.write('ustar\u000000', 257, 'binary');
  h.write('larder', 265, 'ascii');
  h.write('larder', 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** Zero bytes that pad a body of `size` to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** The two zero blocks that end an archive. */
export function trailer(): Buffer {
  return ZERO;
}

export interface TarEntry {
  name: string;
  size: number;
  /** '0' regular file, '5' directory, … */
  type: string;
}

function parseSize(h: Buffer): number {
  if ((h[124]! & 0x80) !== 0) {
    let v = 0n;
    for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i]!);
    return Number(v);
  }
  return parseInt(h.toString('ascii', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
}

function cString(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? len : end).toString('utf8');
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return parseInt(h.toString('ascii', 148, 156).replace(/\0.*$/, '').trim(), 8) === sum;
}

const bad = (why: string): LarderError => new LarderError('E_BAD_REQUEST', `not a valid bundle: ${why}`);

/**
 * Reads a tar stream entry by entry. `next()` returns the next file's
 * header; its body must then be read with `body()` (or skipped with `skip()`)
 * before the next call.
 */
export class TarReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  private ended = false;
  private remaining = 0;
  private pad = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    }
    return this.buf.length >= n;
  }

  private async take(n: number): Promise<Buffer> {
    if (!(await this.fill(n))) throw bad('it ends in the middle of an entry');
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** The next regular file, or undefined at the end of the archive. */
  async next(): Promise<TarEntry | undefined> {
    if (this.remaining > 0 || this.pad > 0) await this.skip();
    let paxPath: string | undefined;
    for (;;) {
      if (!(await this.fill(BLOCK))) {
        if (this.buf.length === 0) return undefined;
        throw bad('it ends in the middle of a header');
      }
      const h = await this.take(BLOCK);
      if (h.every((b) => b === 0)) return undefined;
      if (!checksumOk(h)) throw bad('a header checksum does not match');
      const type = String.fromCharCode(h[156] || 0x30);
      const size = parseSize(h);
      if ((type === 'x' || type === 'L' || type === 'g') && size > 1024 * 1024) throw bad('an extended header is larger than 1 MiB');
      if (type === 'x' || type === 'L') {
        const data = (await this.take(size + padding(size).length)).subarray(0, size).toString('utf8');
        if (type === 'L') paxPath = data.replace(/\0+$/, '');
        else for (const m of data.matchAll(/\d+ path=([^\n]*)\n/g)) paxPath = m[1];
        continue;
      }
      if (type === 'g') {
        await this.take(size + padding(size).length);
        continue;
      }
      const prefix = cString(h, 345, 155);
      const name = paxPath ?? (prefix ? `${prefix}/${cString(h, 0, 100)}` : cString(h, 0, 100));
      this.remaining = size;
      this.pad = padding(size).length;
      return { name: name.replace(/^\.\//, ''), size, type: type === '\0' ? '0' : type };
    }
  }

  /** The current entry's body, in chunks, followed by its padding being skipped. */
  async *body(): AsyncGenerator<Buffer> {
    while (this.remaining > 0) {
      if (!(await this.fill(1))) throw bad('it ends in the middle of a file');
      const n = Math.min(this.remaining, this.buf.length);
      const chunk = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      this.remaining -= n;
      yield chunk;
    }
    if (this.pad > 0) {
      await this.take(this.pad);
      this.pad = 0;
    }
  }

  async skip(): Promise<void> {
    for await (const _ of this.body()) void _;
  }
}
