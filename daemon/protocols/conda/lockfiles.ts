/**
 * Conda explicit environment files (`conda list --explicit`, `conda-lock
 * --kind explicit`: `conda-<platform>.lock`, `explicit.txt`, `spec-file.txt`)
 * as a pre-warm plan: every package URL after `@EXPLICIT` becomes
 * `conda:<channel>/<subdir>/<file>`, the channel being the URL's segment
 * before the subdir (`conda-forge` of `https://conda.anaconda.org/conda-forge/linux-64/…`,
 * `main` of `https://repo.anaconda.com/pkgs/main/…`): a conda remote must be
 * named as its channel, as `channel_alias` needs anyway. A `#sha256:<hex>`
 * suffix is checked against repodata before anything is fetched; an md5
 * suffix is ignored (Larder verifies by sha256).
 */
import type { LockfilePlanner, PlannedItem } from '../contract.js';
import { validPackage } from './paths.js';

const SHA256 = /^(?:sha256:)?([0-9a-f]{64})$/i;

function explicit(text: string): PlannedItem[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (!lines.includes('@EXPLICIT')) throw new Error('not an explicit environment file (no @EXPLICIT line)');
  const out: PlannedItem[] = [];
  for (const line of lines) {
    if (!/^https?:\/\//.test(line)) continue;
    const [url, hash] = line.split('#', 2);
    let parts: string[];
    try {
      parts = new URL(url!).pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      continue;
    }
    const [channel, subdir, file] = parts.slice(-3);
    if (!channel || !subdir || !file || !validPackage(subdir, file) || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(channel)) continue;
    const item: PlannedItem = { ref: `conda:${channel}/${subdir}/${file}` };
    const sha = hash ? SHA256.exec(hash.trim())?.[1] : undefined;
    if (sha) item.expect = [{ algo: 'sha256', hex: sha.toLowerCase() }];
    out.push(item);
  }
  return out;
}

export const condaPlanners: readonly LockfilePlanner[] = [
  {
    reads: 'conda explicit environment file',
    matches: (b) => /^conda-.+\.lock$/.test(b) || b === 'explicit.txt' || b.endsWith('-explicit.txt') || b === 'spec-file.txt',
    plan: explicit,
  },
];
