/**
 * The compact index formats (https://guides.rubygems.org/rubygems-org-compact-index-api/):
 *
 *   /versions   created_at: …\n---\n<name> <v>[-<platform>],… <md5 of /info/<name>>\n…
 *               (append-only: a later line for a name adds versions and
 *               carries the current md5 of its info file)
 *   /info/<n>   ---\n<version>[-<platform>] <dep>:<req>&<req>,…|checksum:<sha256>,ruby:<req>,…\n…
 */

export interface InfoLine {
  /** `<version>` or `<version>-<platform>`, as in the gem's file name. */
  full: string;
  version: string;
  platform: string | undefined;
  /** The `.gem` file's sha256 (hex), when listed. */
  checksum: string | undefined;
  /** Runtime dependencies by name, with their requirements (`>= 1.0&< 2`). */
  deps: Array<{ name: string; requirement: string }>;
}

/** Splits `<version>[-<platform>]`: a version has no `-`. */
function splitFull(full: string): { version: string; platform: string | undefined } {
  const dash = full.indexOf('-');
  return dash < 0 ? { version: full, platform: undefined } : { version: full.slice(0, dash), platform: full.slice(dash + 1) };
}

/** The lines of an info file (lines that do not parse are skipped, as Bundler does). */
export function parseInfo(text: string): InfoLine[] {
  const out: InfoLine[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line === '---') continue;
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const full = line.slice(0, space);
    const [depText = '', reqText = ''] = line.slice(space + 1).split('|', 2);
    const deps = depText
      .split(',')
      .filter((d) => d.includes(':'))
      .map((d) => ({ name: d.slice(0, d.indexOf(':')), requirement: d.slice(d.indexOf(':') + 1) }));
    let checksum: string | undefined;
    for (const r of reqText.split(',')) {
      const m = /^checksum:([0-9a-fA-F]{64})$/.exec(r.trim());
      if (m) checksum = m[1]!.toLowerCase();
    }
    out.push({ full, ...splitFull(full), checksum, deps });
  }
  return out;
}

/** Name → md5 of its info file, from the last line naming it in /versions. */
export function versionsMd5s(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const start = text.indexOf('\n---\n');
  const body = start < 0 ? (text.startsWith('---\n') ? text.slice(4) : text) : text.slice(start + 5);
  for (const line of body.split('\n')) {
    const parts = line.split(' ');
    if (parts.length >= 3) out[parts[0]!] = parts[parts.length - 1]!;
  }
  return out;
}

/**
 * The ways a gem file stem `<name>-<version>[-<platform>]` can split (gem
 * names may hold `-` and digits): at each `-` followed by a digit, the
 * longest name first, at most `max` of them.
 */
export function stemSplits(stem: string, max = 4): Array<{ name: string; full: string }> {
  const out: Array<{ name: string; full: string }> = [];
  for (let i = stem.length - 1; i > 0 && out.length < max; i--) {
    if (stem[i] === '-' && /[0-9]/.test(stem[i + 1] ?? '')) out.push({ name: stem.slice(0, i), full: stem.slice(i + 1) });
  }
  // A name holding a dotted version (`foo-1.0-universal-darwin` of `…-darwin-20`) is the unlikely reading: tried last.
  const odd = (n: string): boolean => /-[0-9]+\.[0-9]/.test(n);
  return [...out.filter((c) => !odd(c.name)), ...out.filter((c) => odd(c.name))];
}
