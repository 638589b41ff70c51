/**
 * A chart repository's `index.yaml`, derived once per upstream change into
 * two forms: the index clients get, with every chart URL (absolute, on any
 * host, or relative to the repository) rewritten to Larder's
 * `/helm/<remote>/charts/<chart>/<version>/<file>`, and a map from those
 * paths back to the upstream URL and the entry's `digest` (sha256). Other
 * fields are kept as the upstream wrote them.
 */
import { parse, stringify } from 'yaml';
import { LarderError } from '../../core/errors.js';
import type { Derived } from '../../core/types.js';
import { chartPath, validChartParts } from './paths.js';

/** Where one chart file comes from: upstream URL and, when the index gives one, its sha256. */
export interface ChartSource {
  u: string;
  d?: string;
}

/** chart → version → file → source. */
export type ChartMap = Record<string, Record<string, Record<string, ChartSource>>>;

const DIGEST = /^(?:sha256:)?([0-9a-fA-F]{64})$/;
const MAX_ALIASES = 1000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The last path segment of a URL, decoded ('' when it cannot be). */
function baseName(url: URL): string {
  const last = url.pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return '';
  }
}

export interface DeriveOptions {
  /** The repository URL relative chart URLs are resolved against (ends with "/"). */
  repoUrl: string;
  /** Larder's URL of this remote's mount, ending with "/". */
  mountUrl: string;
}

/** Parses the index; throws E_UPSTREAM when it is not a chart repository index. */
export function deriveIndex(raw: Buffer, opts: DeriveOptions): Derived {
  let doc: unknown;
  try {
    doc = parse(raw.toString('utf8'), { maxAliasCount: MAX_ALIASES });
  } catch (err) {
    throw new LarderError('E_UPSTREAM', `the upstream index.yaml is not valid YAML: ${(err as Error).message}`);
  }
  if (!isRecord(doc) || (doc.entries !== undefined && doc.entries !== null && !isRecord(doc.entries))) {
    throw new LarderError('E_UPSTREAM', 'the upstream index.yaml has no `entries` map');
  }
  const map: ChartMap = Object.create(null) as ChartMap;
  const entries = isRecord(doc.entries) ? doc.entries : {};
  for (const [chart, versions] of Object.entries(entries)) {
    if (!Array.isArray(versions)) continue;
    for (const v of versions) if (isRecord(v)) rewriteEntry(chart, v, map, opts);
  }
  return {
    variants: {
      index: { body: Buffer.from(stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })), mediaType: 'application/x-yaml' },
      charts: { body: Buffer.from(JSON.stringify(map)), mediaType: 'application/json' },
    },
  };
}

/** Rewrites one chart version's `urls` in place and records where each one comes from. */
function rewriteEntry(chart: string, entry: Record<string, unknown>, map: ChartMap, opts: DeriveOptions): void {
  const version = typeof entry.version === 'string' ? entry.version : undefined;
  if (!version || !Array.isArray(entry.urls)) return;
  const digest = typeof entry.digest === 'string' ? DIGEST.exec(entry.digest)?.[1]?.toLowerCase() : undefined;
  entry.urls = entry.urls.map((raw: unknown, i: number) => {
    if (typeof raw !== 'string') return raw;
    let upstream: URL;
    try {
      upstream = new URL(raw, opts.repoUrl);
    } catch {
      return raw;
    }
    if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') return raw;
    let file = baseName(upstream);
    // A name that cannot be a path segment (or a second URL with the same name) gets a synthetic one.
    const taken = map[chart]?.[version];
    if (!validChartParts(chart, version, file) || (taken && Object.hasOwn(taken, file))) file = `${chart}-${version}-${i}.tgz`;
    if (!validChartParts(chart, version, file)) return upstream.toString();
    const versions = map[chart] ?? (Object.create(null) as Record<string, Record<string, ChartSource>>);
    map[chart] = versions;
    const files = versions[version] ?? (Object.create(null) as Record<string, ChartSource>);
    versions[version] = files;
    files[file] = digest ? { u: upstream.toString(), d: digest } : { u: upstream.toString() };
    return `${opts.mountUrl}${chartPath(chart, version, file)}`;
  });
}
