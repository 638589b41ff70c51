/**
 * Writers and readers for icon containers, in pure TypeScript: Windows .ico
 * and macOS .icns files that embed PNG images (both formats allow PNG
 * payloads), and a PNG header reader used by the tests.
 */
import { inflateSync } from 'node:zlib';

/** Width and height from a PNG's IHDR chunk; throws when it is not a PNG. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 24 || !png.subarray(0, 8).equals(sig) || png.toString('latin1', 12, 16) !== 'IHDR') throw new TypeError('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** A .ico with one PNG entry per image (sizes up to 256). */
export function encodeIco(pngs: Buffer[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(pngs.length, 4);
  const entries: Buffer[] = [];
  let offset = 6 + 16 * pngs.length;
  for (const png of pngs) {
    const { width, height } = pngSize(png);
    if (width > 256 || height > 256) throw new RangeError(`ico images are at most 256 px, got ${width}x${height}`);
    const e = Buffer.alloc(16);
    e.writeUInt8(width === 256 ? 0 : width, 0);
    e.writeUInt8(height === 256 ? 0 : height, 1);
    e.writeUInt8(0, 2);
    e.writeUInt8(0, 3);
    e.writeUInt16LE(1, 4);
    e.writeUInt16LE(32, 6);
    e.writeUInt32LE(png.length, 8);
    e.writeUInt32LE(offset, 12);
    offset += png.length;
    entries.push(e);
  }
  return Buffer.concat([header, ...entries, ...pngs]);
}

/** Entries of a .ico: size and embedded PNG. */
export function decodeIco(ico: Buffer): Array<{ width: number; height: number; png: Buffer }> {
  if (ico.readUInt16LE(0) !== 0 || ico.readUInt16LE(2) !== 1) throw new TypeError('not an ico');
  const out = [];
  for (let i = 0; i < ico.readUInt16LE(4); i++) {
    const e = 6 + 16 * i;
    const png = ico.subarray(ico.readUInt32LE(e + 12), ico.readUInt32LE(e + 12) + ico.readUInt32LE(e + 8));
    out.push({ width: ico.readUInt8(e) || 256, height: ico.readUInt8(e + 1) || 256, png });
  }
  return out;
}

/** icns element types holding PNGs of a given pixel size. */
export const ICNS_TYPES: Record<number, string> = {
  16: 'icp4',
  32: 'icp5',
  64: 'icp6',
  128: 'ic07',
  256: 'ic08',
  512: 'ic09',
  1024: 'ic10',
};

/** A .icns with one PNG element per image (sizes from ICNS_TYPES). */
export function encodeIcns(pngs: Buffer[]): Buffer {
  const elems = pngs.map((png) => {
    const { width } = pngSize(png);
    const type = ICNS_TYPES[width];
    if (!type) throw new RangeError(`no icns type for ${width} px`);
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([head, png]);
  });
  const body = Buffer.concat(elems);
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(body.length + 8, 4);
  return Buffer.concat([head, body]);
}

/** Elements of a .icns: type and payload. */
export function decodeIcns(icns: Buffer): Array<{ type: string; data: Buffer }> {
  if (icns.toString('latin1', 0, 4) !== 'icns' || icns.readUInt32BE(4) !== icns.length) throw new TypeError('not an icns');
  const out = [];
  for (let o = 8; o < icns.length; ) {
    const len = icns.readUInt32BE(o + 4);
    out.push({ type: icns.toString('latin1', o, o + 4), data: icns.subarray(o + 8, o + len) });
    o += len;
  }
  return out;
}

/**
 * Decodes an 8-bit RGBA, non-interlaced PNG (what Chromium screenshots are)
 * into raw pixels; enough to check the committed icons in tests.
 */
export function decodePngRgba(png: Buffer): { width: number; height: number; pixels: Buffer } {
  const { width, height } = pngSize(png);
  if (png[24] !== 8 || png[25] !== 6 || png[28] !== 0) throw new TypeError('expected an 8-bit RGBA non-interlaced PNG');
  const idat: Buffer[] = [];
  for (let o = 8; o < png.length; ) {
    const len = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    if (type === 'IDAT') idat.push(png.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= 4 ? pixels[y * stride + x - 4]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= 4 && y > 0 ? pixels[(y - 1) * stride + x - 4]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const pred = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth;
      pixels[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return { width, height, pixels };
}
