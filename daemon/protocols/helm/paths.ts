/**
 * Request paths below `/helm`: `/<remote>/index.yaml` and
 * `/<remote>/charts/<chart>/<version>/<file>` (a chart archive, or its
 * `.prov` provenance file). Every segment is checked against a strict
 * pattern before it names a key or an upstream URL: no traversal, no
 * encoded separators, no NUL, bounded lengths.
 */
import { LarderError, notFound } from '../../core/errors.js';
import { pathSegment as segment, pathSegments, REMOTE_NAME } from '../adapter.js';

export type HelmRoute =
  | { kind: 'index'; remote: string }
  | { kind: 'chart'; remote: string; chart: string; version: string; file: string; prov: boolean };

/** Chart names and versions as Helm allows them (names: lower-case, digits, `-`, `_`, `.`; versions: SemVer). */
const CHART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,127}$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,254}$/;

export function parseHelmPath(path: string): HelmRoute {
  const parts = pathSegments(path);
  if (parts.length < 2) throw notFound('helm path');
  const remote = segment(parts[0]!, REMOTE_NAME, 'remote name');
  if (parts.length === 2 && parts[1] === 'index.yaml') return { kind: 'index', remote };
  if (parts.length === 2 && parts[1] === '') return { kind: 'index', remote };
  if (parts.length === 5 && parts[1] === 'charts') {
    const chart = segment(parts[2]!, CHART, 'chart name');
    const version = segment(parts[3]!, VERSION, 'chart version');
    let file = segment(parts[4]!, FILE, 'file name');
    const prov = file.endsWith('.prov');
    if (prov) file = file.slice(0, -'.prov'.length);
    if (file.length === 0) throw new LarderError('E_BAD_REQUEST', 'invalid file name in the path');
    return { kind: 'chart', remote, chart, version, file, prov };
  }
  for (const p of parts) segment(p, /^[^/\\\0]*$/, 'path segment');
  throw notFound('helm path');
}

/** The path of a chart below a remote's mount (segments are already valid). */
export function chartPath(chart: string, version: string, file: string): string {
  return `charts/${encodeURIComponent(chart)}/${encodeURIComponent(version)}/${encodeURIComponent(file)}`;
}

/** Whether a chart name, version and file name may appear in a Larder URL. */
export function validChartParts(chart: string, version: string, file: string): boolean {
  return (
    CHART.test(chart) &&
    VERSION.test(version) &&
    FILE.test(file) &&
    !`${chart}/${version}/${file}`.includes('..') &&
    !file.endsWith('.prov')
  );
}
