/**
 * The last N activity items, newest first on read.
 *
 * Requests are most of them (one per answered request), and an object per
 * request kept here lives for N requests: long enough, under load, to be
 * promoted out of V8's young generation and then die there, which fills the
 * old generation with garbage until a full collection (the daemon's peak
 * RSS). So a request is stored as numbers in typed arrays, small indexes into
 * a table of the few names (method, protocol, cache state) and its path's
 * bytes in a fixed arena: recording one allocates nothing. The item objects
 * (and the `METHOD path` message) are built only when the ring is read.
 * Other kinds are rare and kept as the objects they came as.
 */
import type { ActivityItem } from './contract.js';

/** What a request adds to the ring. */
export interface RequestActivity {
  method: string;
  /** Kept up to PATH_MAX characters. */
  path: string;
  protocol: string;
  cache: string;
  status: number;
}

/** Characters of a path kept (as the message always did). */
export const PATH_MAX = 200;
/** Distinct names (methods, protocols, cache states) stored as indexes; past that a request is kept as an object. */
const NAMES_MAX = 1024;

const EMPTY = 0;
const REQUEST = 1;
const OTHER = 2;

export class ActivityRing {
  private readonly slot: Uint8Array;
  private readonly at: Float64Array;
  private readonly status: Uint16Array;
  private readonly method: Uint16Array;
  private readonly protocol: Uint16Array;
  private readonly cache: Uint16Array;
  private readonly pathLength: Uint16Array;
  /** Path bytes (latin1), PATH_MAX per slot. */
  private readonly paths: Buffer;
  /** Items that are not requests, or requests whose path is not ASCII. */
  private readonly others: Array<ActivityItem | undefined>;
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  private head = 0;

  constructor(readonly size: number) {
    this.slot = new Uint8Array(size);
    this.at = new Float64Array(size);
    this.status = new Uint16Array(size);
    this.method = new Uint16Array(size);
    this.protocol = new Uint16Array(size);
    this.cache = new Uint16Array(size);
    this.pathLength = new Uint16Array(size);
    this.paths = Buffer.alloc(size * PATH_MAX);
    this.others = new Array<ActivityItem | undefined>(size);
  }

  /** Records a request at `at` (ms since the epoch). */
  request(r: RequestActivity, at: number): void {
    const path = r.path.length > PATH_MAX ? r.path.slice(0, PATH_MAX) : r.path;
    const method = this.name(r.method);
    const protocol = this.name(r.protocol);
    const cache = this.name(r.cache);
    // A path with non-ASCII characters (rare: paths arrive percent-encoded) or a status out of range is kept as is.
    if (method < 0 || protocol < 0 || cache < 0 || Buffer.byteLength(path) !== path.length || r.status > 0xffff) {
      const { method: m, protocol: p, cache: c, status: s } = r;
      this.add({ at, kind: 'request', message: `${m} ${path}`, protocol: p, cache: c, status: s, path });
      return;
    }
    const i = this.head;
    this.slot[i] = REQUEST;
    this.others[i] = undefined;
    this.at[i] = at;
    this.status[i] = r.status;
    this.method[i] = method;
    this.protocol[i] = protocol;
    this.cache[i] = cache;
    this.pathLength[i] = this.paths.write(path, i * PATH_MAX, PATH_MAX, 'latin1');
    this.head = (i + 1) % this.size;
  }

  /** Records any item as it is. */
  add(item: ActivityItem): void {
    const i = this.head;
    this.slot[i] = OTHER;
    this.others[i] = item;
    this.head = (i + 1) % this.size;
  }

  /** Recent items, newest first, optionally only of some kinds. */
  recent(kinds: ReadonlySet<string> | undefined, limit: number): ActivityItem[] {
    const out: ActivityItem[] = [];
    for (let n = 1; n <= this.size && out.length < limit; n++) {
      const i = (this.head - n + this.size) % this.size;
      const slot = this.slot[i];
      if (slot === EMPTY) break;
      if (slot === OTHER) {
        const item = this.others[i]!;
        if (!kinds || kinds.has(item.kind)) out.push(item);
      } else if (!kinds || kinds.has('request')) out.push(this.requestAt(i));
    }
    return out;
  }

  private requestAt(i: number): ActivityItem {
    const start = i * PATH_MAX;
    const path = this.paths.toString('latin1', start, start + this.pathLength[i]!);
    const method = this.names[this.method[i]!]!;
    // The same fields in the same order as the object the ring used to keep (the admin API returns it as JSON).
    return {
      at: this.at[i]!,
      kind: 'request',
      message: `${method} ${path}`,
      protocol: this.names[this.protocol[i]!]!,
      cache: this.names[this.cache[i]!]!,
      status: this.status[i]!,
      path,
    };
  }

  /** The index of a name in the table (added on first sight), or -1 when the table is full. */
  private name(s: string): number {
    const known = this.nameIndex.get(s);
    if (known !== undefined) return known;
    if (this.names.length >= NAMES_MAX) return -1;
    this.names.push(s);
    this.nameIndex.set(s, this.names.length - 1);
    return this.names.length - 1;
  }
}
