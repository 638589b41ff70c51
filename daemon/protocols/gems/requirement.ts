/**
 * Enough of RubyGems' version rules to pick a dependency's version for
 * pre-warm: `Gem::Version` ordering (segments split at dots and at
 * digit/letter boundaries; a letter makes a prerelease, which sorts before
 * the release; trailing zeros do not count) and `Gem::Requirement`
 * operators (`=`, `!=`, `>`, `<`, `>=`, `<=`, `~>`), joined by `&` in the
 * compact index.
 */

type Segment = number | string;

function segments(v: string): Segment[] {
  return (v.match(/[0-9]+|[A-Za-z]+/g) ?? []).map((s) => (/^[0-9]/.test(s) ? Number(s) : s));
}

export function isPrerelease(v: string): boolean {
  return /[A-Za-z]/.test(v);
}

/** -1, 0 or 1, as `Gem::Version#<=>`. */
export function compareVersions(a: string, b: string): number {
  const x = segments(a);
  const y = segments(b);
  const trim = (s: Segment[]): Segment[] => {
    const out = [...s];
    while (out.length > 1 && out[out.length - 1] === 0) out.pop();
    return out;
  };
  const p = trim(x);
  const q = trim(y);
  for (let i = 0; i < Math.max(p.length, q.length); i++) {
    const l = p[i] ?? 0;
    const r = q[i] ?? 0;
    if (l === r) continue;
    if (typeof l === 'number' && typeof r === 'number') return l < r ? -1 : 1;
    if (typeof l === 'string' && typeof r === 'string') return l < r ? -1 : 1;
    return typeof l === 'string' ? -1 : 1;
  }
  return 0;
}

/** The upper bound of `~> v`: the release segments less the last, the new last one bumped. */
function bump(v: string): string {
  const nums: number[] = [];
  for (const s of segments(v)) {
    if (typeof s === 'string') break;
    nums.push(s);
  }
  if (nums.length > 1) nums.pop();
  nums[nums.length - 1] = (nums[nums.length - 1] ?? 0) + 1;
  return nums.join('.');
}

function satisfiesOne(version: string, clause: string): boolean {
  const m = /^\s*(=|!=|>=|<=|>|<|~>)?\s*([0-9][0-9A-Za-z.]*)\s*$/.exec(clause);
  if (!m) return false;
  const op = m[1] ?? '=';
  const c = compareVersions(version, m[2]!);
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '>':
      return c > 0;
    case '<':
      return c < 0;
    case '>=':
      return c >= 0;
    case '<=':
      return c <= 0;
    default:
      return c >= 0 && compareVersions(version, bump(m[2]!)) < 0;
  }
}

/** Whether a version meets every clause of a compact-index requirement (`>= 1.0&< 3`). */
export function satisfies(version: string, requirement: string): boolean {
  return requirement.split('&').every((clause) => satisfiesOne(version, clause));
}

/** The highest release (a prerelease only when the requirement names one) meeting the requirement. */
export function bestVersion(versions: readonly string[], requirement: string): string | undefined {
  const pre = isPrerelease(requirement);
  let best: string | undefined;
  for (const v of versions) {
    if ((!pre && isPrerelease(v)) || !satisfies(v, requirement)) continue;
    if (best === undefined || compareVersions(v, best) > 0) best = v;
  }
  return best;
}
