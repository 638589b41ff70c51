/**
 * Reads an upstream Simple API page, whichever form the upstream chose
 * (PEP 691 JSON, else PEP 503 HTML), into one model that both output forms
 * are rendered from. File URLs are made absolute against the page URL.
 */
import { LarderError } from '../../core/errors.js';
import { parseAnchors } from './html.js';
import { isProjectName, normalizeName } from './names.js';

/** One distribution file of a project page. */
export interface PyFile {
  filename: string;
  /** Absolute upstream URL, without fragment. */
  url: string;
  /** Hash name → lower-case hex (sha256 on every PyPI file). */
  hashes: Record<string, string>;
  requiresPython?: string;
  /** Present when yanked: the reason, "" when none was given. */
  yanked?: string;
  /** Present when a PEP 658 `.metadata` file exists: its hashes (may be empty). */
  coreMetadata?: Record<string, string>;
  gpgSig?: boolean;
  /** PEP 700 `upload-time` (ISO 8601), JSON pages only: the policy's publish time. */
  uploadTime?: string;
}

export interface ProjectPage {
  files: PyFile[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const HEX = /^[0-9a-fA-F]{16,128}$/;

/** A JSON page starts with `{`; anything else is read as HTML. */
export function isJsonPage(raw: Buffer): boolean {
  for (const b of raw.subarray(0, 64)) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0xef || b === 0xbb || b === 0xbf) continue;
    return b === 0x7b;
  }
  return false;
}

function hashMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [k, h] of Object.entries(v)) if (typeof h === 'string' && HEX.test(h)) out[k.toLowerCase()] = h.toLowerCase();
  return out;
}

/** `true` | `"sha256=<hex>"` (HTML attribute) → hashes. */
function metadataAttr(value: string): Record<string, string> {
  const m = /^([A-Za-z0-9]+)=([0-9a-fA-F]+)$/.exec(value.trim());
  return m && HEX.test(m[2]!) ? { [m[1]!.toLowerCase()]: m[2]!.toLowerCase() } : {};
}

function absolute(href: string, base: string): { url: string; fragment: string } | undefined {
  try {
    const u = new URL(href, base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    const fragment = u.hash.slice(1);
    u.hash = '';
    return { url: u.toString(), fragment };
  } catch {
    return undefined;
  }
}

function lastSegment(url: string): string {
  const seg = new URL(url).pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** The files of a PEP 691 JSON page (also used to re-render a served JSON form). */
export function fromJson(doc: Json, base: string): PyFile[] {
  const files: PyFile[] = [];
  for (const f of Array.isArray(doc.files) ? doc.files : []) {
    if (!isObject(f) || typeof f.filename !== 'string' || typeof f.url !== 'string') continue;
    const loc = absolute(f.url, base);
    if (!loc) continue;
    const file: PyFile = { filename: f.filename, url: loc.url, hashes: hashMap(f.hashes) };
    if (typeof f['requires-python'] === 'string' && f['requires-python']) file.requiresPython = f['requires-python'];
    if (f.yanked === true || typeof f.yanked === 'string') file.yanked = f.yanked === true ? '' : f.yanked;
    const meta = f['core-metadata'] ?? f['dist-info-metadata'];
    if (meta === true || isObject(meta)) file.coreMetadata = hashMap(meta);
    if (f['gpg-sig'] === true) file.gpgSig = true;
    if (typeof f['upload-time'] === 'string' && Number.isFinite(Date.parse(f['upload-time']))) file.uploadTime = f['upload-time'];
    files.push(file);
  }
  return files;
}

function fromHtml(html: string, base: string): PyFile[] {
  const files: PyFile[] = [];
  for (const a of parseAnchors(html)) {
    const href = a.attrs.href;
    if (!href) continue;
    const loc = absolute(href, base);
    if (!loc) continue;
    const filename = a.text || lastSegment(loc.url);
    const hashes: Record<string, string> = {};
    const frag = /^([A-Za-z0-9]+)=([0-9a-fA-F]+)$/.exec(loc.fragment);
    if (frag && HEX.test(frag[2]!)) hashes[frag[1]!.toLowerCase()] = frag[2]!.toLowerCase();
    const file: PyFile = { filename, url: loc.url, hashes };
    const rp = a.attrs['data-requires-python'];
    if (rp) file.requiresPython = rp;
    if ('data-yanked' in a.attrs) file.yanked = a.attrs['data-yanked'] ?? '';
    const meta = a.attrs['data-core-metadata'] ?? a.attrs['data-dist-info-metadata'];
    if (meta !== undefined && meta.toLowerCase() !== 'false') file.coreMetadata = metadataAttr(meta);
    if (a.attrs['data-gpg-sig'] === 'true') file.gpgSig = true;
    files.push(file);
  }
  return files;
}

/** Parses an upstream project page; `base` is the URL it was fetched from. */
export function parseProjectPage(raw: Buffer, base: string, project: string): ProjectPage {
  const text = raw.toString('utf8');
  if (isJsonPage(raw)) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new LarderError('E_UPSTREAM', `upstream page of ${project} is not valid JSON`);
    }
    if (!isObject(doc)) throw new LarderError('E_UPSTREAM', `upstream page of ${project} is not a JSON object`);
    return { files: fromJson(doc, base) };
  }
  return { files: fromHtml(text, base) };
}

/** Parses an upstream project list into normalized, de-duplicated names (upstream order). */
export function parseProjectList(raw: Buffer): string[] {
  const names = new Set<string>();
  const add = (n: unknown): void => {
    if (typeof n === 'string' && isProjectName(n)) names.add(normalizeName(n));
  };
  if (isJsonPage(raw)) {
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new LarderError('E_UPSTREAM', 'upstream project list is not valid JSON');
    }
    for (const p of isObject(doc) && Array.isArray(doc.projects) ? doc.projects : []) if (isObject(p)) add(p.name);
  } else {
    for (const a of parseAnchors(raw.toString('utf8'))) add(a.text);
  }
  return [...names];
}
