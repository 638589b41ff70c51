/**
 * Which project version a distribution file belongs to, read from its name:
 *
 *   wheels  <name>-<version>[-<build>]-<python>-<abi>-<platform>.whl   (PEP 427)
 *   sdists  <name>-<version>.tar.gz | .zip | .tar.bz2 | .tar.xz | .tgz | .tar
 *
 * Legacy sdist names may hold `-` in the project part, so every split is tried
 * against the normalized project name. Versions compare in PEP 440 canonical
 * form (`1.0` = `1.0.0`, `1.0RC1` = `1.0rc1`, `1.0-1` = `1.0.post1`).
 */
import { normalizeName } from './names.js';

const SDIST_EXT = ['.tar.gz', '.tar.bz2', '.tar.xz', '.tgz', '.zip', '.tar'];
const PEP440 =
  /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d*))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$/;
const PRE: Record<string, string> = { a: 'a', alpha: 'a', b: 'b', beta: 'b', c: 'rc', rc: 'rc', pre: 'rc', preview: 'rc' };

/**
 * The PEP 440 canonical form of a version, with trailing `.0` release parts
 * removed so equal versions compare equal; a version that is not PEP 440 is
 * only lower-cased.
 */
export function canonicalVersion(version: string): string {
  const v = version.trim().toLowerCase();
  const m = PEP440.exec(v);
  if (!m) return v;
  const num = (s: string | undefined): string => String(Number(s || '0'));
  let out = m[1] && Number(m[1]) !== 0 ? `${num(m[1])}!` : '';
  const release = m[2]!.split('.').map(num);
  while (release.length > 1 && release[release.length - 1] === '0') release.pop();
  out += release.join('.');
  if (m[3]) out += `${PRE[m[3]]}${num(m[4])}`;
  if (m[5] !== undefined) out += `.post${num(m[5])}`;
  else if (m[6]) out += `.post${num(m[7])}`;
  if (m[8]) out += `.dev${num(m[9])}`;
  if (m[10]) out += `+${m[10].replace(/[-_]/g, '.')}`;
  return out;
}

/** Whether a file is a wheel or an sdist (the kinds pip installs). */
export function isDistribution(filename: string): boolean {
  const f = filename.toLowerCase();
  return f.endsWith('.whl') || SDIST_EXT.some((e) => f.endsWith(e));
}

/** Whether `filename` is a wheel or sdist of `project` at `version` (both compared normalized). */
export function isFileOfVersion(filename: string, project: string, version: string): boolean {
  const want = canonicalVersion(version);
  const name = normalizeName(project);
  const lower = filename.toLowerCase();
  if (lower.endsWith('.whl')) {
    const parts = filename.slice(0, -'.whl'.length).split('-');
    if (parts.length !== 5 && parts.length !== 6) return false;
    return normalizeName(parts[0]!) === name && canonicalVersion(parts[1]!.replace(/_/g, '-')) === want;
  }
  const ext = SDIST_EXT.find((e) => lower.endsWith(e));
  if (!ext) return false;
  const stem = filename.slice(0, -ext.length);
  for (let i = stem.indexOf('-'); i > 0; i = stem.indexOf('-', i + 1)) {
    if (normalizeName(stem.slice(0, i)) === name && canonicalVersion(stem.slice(i + 1)) === want) return true;
  }
  return false;
}
