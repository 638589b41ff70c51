/**
 * The malware blocklist: OSV records (https://ossf.github.io/osv-schema/)
 * read from a folder of `.json` files (one record each, or an array) or a
 * `.zip` of them (a folder's `.zip` files are read too), kept
 * by ecosystem and package name. Only records whose id starts with one of
 * the accepted prefixes (`MAL-` by default) are kept. A version is listed
 * when a record names it in `versions` or a SEMVER/ECOSYSTEM range holds it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LarderError } from '../errors.js';
import { inRange, type RangeEvent } from './versions.js';
import { readZip } from './zip.js';

export interface OsvAffected {
  versions: string[];
  ranges: RangeEvent[][];
}

export interface OsvEntry {
  id: string;
  summary: string;
  affected: OsvAffected;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Package names compare as each ecosystem does (PyPI: case-insensitive, `-_.` alike; crates.io: case-insensitive, `-_` alike). */
export function packageKey(ecosystem: string, name: string): string {
  if (ecosystem === 'PyPI') return `${ecosystem}\0${name.toLowerCase().replace(/[-_.]+/g, '-')}`;
  if (ecosystem === 'crates.io') return `${ecosystem}\0${name.toLowerCase().replace(/_/g, '-')}`;
  return `${ecosystem}\0${name}`;
}

/** The blocklist entries of one OSV record, by package key; throws E_BAD_REQUEST on a record that is not OSV. */
export function parseOsv(doc: unknown, where: string): Array<[string, OsvEntry]> {
  if (!isObject(doc) || typeof doc.id !== 'string' || !Array.isArray(doc.affected)) {
    throw new LarderError('E_BAD_REQUEST', `${where}: expected an OSV record with "id" and "affected"`);
  }
  const summary = typeof doc.summary === 'string' ? doc.summary : typeof doc.details === 'string' ? doc.details.slice(0, 200) : '';
  const out: Array<[string, OsvEntry]> = [];
  for (const a of doc.affected) {
    if (!isObject(a) || !isObject(a.package)) continue;
    const { ecosystem, name } = a.package;
    if (typeof ecosystem !== 'string' || typeof name !== 'string') continue;
    const versions = Array.isArray(a.versions) ? a.versions.filter((v): v is string => typeof v === 'string') : [];
    const ranges: RangeEvent[][] = [];
    for (const r of Array.isArray(a.ranges) ? a.ranges : []) {
      if (!isObject(r) || (r.type !== 'SEMVER' && r.type !== 'ECOSYSTEM') || !Array.isArray(r.events)) continue;
      ranges.push(r.events.filter(isObject).map((e) => pickEvent(e)));
    }
    out.push([packageKey(ecosystem.split(':')[0]!, name), { id: doc.id, summary, affected: { versions, ranges } }]);
  }
  return out;
}

function pickEvent(e: Json): RangeEvent {
  const ev: RangeEvent = {};
  for (const k of ['introduced', 'fixed', 'last_affected', 'limit'] as const) if (typeof e[k] === 'string') ev[k] = e[k];
  return ev;
}

export class Blocklist {
  private readonly byPackage = new Map<string, OsvEntry[]>();
  private readonly ids = new Set<string>();

  constructor(private readonly prefixes: readonly string[] = ['MAL-']) {}

  get size(): number {
    return this.ids.size;
  }

  /** Adds one parsed OSV document; false when its id has no accepted prefix. */
  add(doc: unknown, where: string): boolean {
    const entries = parseOsv(doc, where);
    const id = (doc as { id: string }).id;
    if (!this.prefixes.some((p) => id.startsWith(p))) return false;
    this.ids.add(id);
    // A record imported again replaces its earlier copy.
    for (const [key] of entries)
      this.byPackage.set(
        key,
        (this.byPackage.get(key) ?? []).filter((e) => e.id !== id),
      );
    for (const [key, entry] of entries) this.byPackage.get(key)?.push(entry);
    return true;
  }

  /** Every package entry, for the policy status: [ecosystem, name (as compared), entry]. */
  *entries(): Iterable<[string, string, OsvEntry]> {
    for (const [key, list] of this.byPackage) {
      const [ecosystem = '', name = ''] = key.split('\0');
      for (const e of list) yield [ecosystem, name, e];
    }
  }

  listed(ecosystem: string, name: string): boolean {
    return this.byPackage.has(packageKey(ecosystem, name));
  }

  /** The first record that lists the version, if any. */
  match(ecosystem: string, name: string, version: string): OsvEntry | undefined {
    const list = this.byPackage.get(packageKey(ecosystem, name));
    if (!list) return undefined;
    const bare = ecosystem === 'Go' ? version.replace(/^v/, '') : version;
    return list.find(
      (e) =>
        e.affected.versions.some((v) => v === version || v.replace(/^v/, '') === bare) ||
        e.affected.ranges.some((events) => inRange(version, events)),
    );
  }

  /** Takes the records of `next` in place of its own (a reloaded folder; callers holding this list see the new records). */
  replaceWith(next: Blocklist): void {
    this.byPackage.clear();
    this.ids.clear();
    for (const [k, v] of next.byPackage) this.byPackage.set(k, v);
    for (const id of next.ids) this.ids.add(id);
  }

  /** Reads a folder, a `.zip` or a `.json` file (a missing path is empty); returns how many records were kept. */
  loadPath(path: string): number {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    if (isDir) return this.loadFolder(path);
    return path.toLowerCase().endsWith('.zip') ? this.loadZip(path) : this.loadFile(path);
  }

  /** Reads every `.json` and `.zip` file of a folder (a missing folder is empty); returns how many records were kept. */
  loadFolder(dir: string): number {
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.json') || n.toLowerCase().endsWith('.zip'))
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let kept = 0;
    for (const n of names) {
      const path = join(dir, n);
      if (!statSync(path).isFile()) continue;
      kept += n.endsWith('.json') ? this.loadFile(path) : this.loadZip(path);
    }
    return kept;
  }

  /** Reads every `.json` entry of a zip archive. */
  loadZip(path: string): number {
    let kept = 0;
    for (const e of readZip(readFileSync(path), path, (n) => n.endsWith('.json')))
      kept += this.loadText(e.data.toString('utf8'), `${path}:${e.name}`);
    return kept;
  }

  /** Reads one file holding an OSV record or an array of them. */
  loadFile(path: string): number {
    return this.loadText(readFileSync(path, 'utf8'), path);
  }

  private loadText(text: string, where: string): number {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new LarderError('E_BAD_REQUEST', `${where}: not JSON (${(err as Error).message})`);
    }
    let kept = 0;
    for (const d of Array.isArray(doc) ? doc : [doc]) if (this.add(d, where)) kept++;
    return kept;
  }
}
