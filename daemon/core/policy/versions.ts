/**
 * Version ordering for OSV ranges, without a package: SemVer 2 (npm,
 * crates.io, Go with its "v"), and a segment-wise order for the rest (PyPI
 * and RubyGems releases: numbers compare as numbers, a letter segment such
 * as "a1", "rc1" or "pre" sorts before the release it precedes).
 */

interface Sem {
  core: number[];
  pre: string[];
}

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function parseSem(v: string): Sem | undefined {
  const m = SEMVER.exec(v.trim());
  if (!m) return undefined;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] };
}

function compareIds(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareSem(a: Sem, b: Sem): number {
  for (let i = 0; i < 3; i++) if (a.core[i] !== b.core[i]) return Math.sign(a.core[i]! - b.core[i]!);
  // A release sorts after its pre-releases.
  if (!a.pre.length || !b.pre.length) return a.pre.length === b.pre.length ? 0 : a.pre.length ? -1 : 1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const c = compareIds(a.pre[i]!, b.pre[i]!);
    if (c) return c;
  }
  return Math.sign(a.pre.length - b.pre.length);
}

/** Segments: runs of digits and runs of letters ("1.0rc1" → [1, 0, "rc", 1]). */
function segments(v: string): Array<number | string> {
  return (v.toLowerCase().match(/\d+|[a-z]+/g) ?? []).map((s) => (/^\d/.test(s) ? Number(s) : s));
}

function compareSegments(a: string, b: string): number {
  const x = segments(a);
  const y = segments(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === q) continue;
    // A missing segment is a release; a letter segment there is a pre-release of it ("1.0" > "1.0rc1"), a number is later.
    if (p === undefined) return typeof q === 'string' ? 1 : -1;
    if (q === undefined) return typeof p === 'string' ? -1 : 1;
    if (typeof p === 'number' && typeof q === 'number') return Math.sign(p - q);
    if (typeof p === 'number') return 1;
    if (typeof q === 'number') return -1;
    return p < q ? -1 : 1;
  }
  return 0;
}

/** Orders two versions: SemVer when both parse as SemVer, segment-wise otherwise. */
export function compareVersions(a: string, b: string): number {
  const x = parseSem(a);
  const y = parseSem(b);
  if (x && y) return compareSem(x, y);
  return compareSegments(a, b);
}

/** Whether a SemVer version has a pre-release part ("1.0.0-beta.1"). */
export function isPrerelease(v: string): boolean {
  return (parseSem(v)?.pre.length ?? 0) > 0;
}

/** One OSV range event. */
export interface RangeEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

/** Whether `v` falls in an OSV range (events in order: each "introduced" opens, "fixed"/"last_affected" closes). */
export function inRange(v: string, events: readonly RangeEvent[]): boolean {
  const at = (x: string): number => (x === '0' ? 1 : compareVersions(v, x));
  let affected = false;
  for (const e of [...events].sort((p, q) => eventOrder(p, q))) {
    if (e.introduced !== undefined && at(e.introduced) >= 0) affected = true;
    else if (e.fixed !== undefined && at(e.fixed) >= 0) affected = false;
    else if (e.last_affected !== undefined && at(e.last_affected) > 0) affected = false;
    else if (e.limit !== undefined && at(e.limit) >= 0) affected = false;
  }
  return affected;
}

function eventVersion(e: RangeEvent): string {
  return e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '0';
}

function eventOrder(p: RangeEvent, q: RangeEvent): number {
  const a = eventVersion(p);
  const b = eventVersion(q);
  if (a === '0' || b === '0') return a === b ? 0 : a === '0' ? -1 : 1;
  return compareVersions(a, b);
}
