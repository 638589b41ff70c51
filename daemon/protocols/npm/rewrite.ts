/**
 * The full packument with its tarball URLs rewritten, made from the
 * upstream's own bytes: each `"tarball": "<url>"` whose URL is in
 * `rewrites` is replaced, everything else is copied as it came. A
 * packument of tens of MB is not serialised again (no second copy of it as
 * a string, and a fraction of the CPU). Returns undefined when the bytes do
 * not hold exactly one such member per rewrite (an unusual encoding): the
 * caller then serialises the parsed document instead.
 */

const KEY = Buffer.from('"tarball"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

function skipSpace(raw: Buffer, at: number): number {
  let i = at;
  while (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09) i++;
  return i;
}

/** The index of the quote that ends the JSON string starting at `open` (a quote), or -1. */
function stringEnd(raw: Buffer, open: number): number {
  for (let i = open + 1; i < raw.length; i++) {
    if (raw[i] === BACKSLASH) i++;
    else if (raw[i] === QUOTE) return i;
  }
  return -1;
}

export function rewriteTarballs(raw: Buffer, rewrites: ReadonlyMap<string, string>): Buffer | undefined {
  if (rewrites.size === 0) return raw;
  const pieces: Buffer[] = [];
  let copied = 0;
  let replaced = 0;
  for (let at = raw.indexOf(KEY); at >= 0; at = raw.indexOf(KEY, at + 1)) {
    const colon = skipSpace(raw, at + KEY.length);
    if (raw[colon] !== COLON) continue;
    const open = skipSpace(raw, colon + 1);
    if (raw[open] !== QUOTE) continue;
    const close = stringEnd(raw, open);
    if (close < 0) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8', open, close + 1));
    } catch {
      return undefined;
    }
    const to = typeof value === 'string' ? rewrites.get(value) : undefined;
    if (to === undefined) continue;
    pieces.push(raw.subarray(copied, open), Buffer.from(JSON.stringify(to)));
    copied = close + 1;
    replaced++;
    at = close;
  }
  if (replaced !== rewrites.size) return undefined;
  pieces.push(raw.subarray(copied));
  return Buffer.concat(pieces);
}
