/**
 * User path rules of an http remote (`rules: [{match, policy, ttl?}]`),
 * tried in order before the layout preset; the first match sets the policy
 * (and ttl) of the path. The preset still decides the path's protocol
 * behaviour (checksum sources, apt suite invalidation).
 *
 * `match` is a glob on the decoded path below the remote (`*` = any
 * characters but `/`, `**` = any characters, `?` = one character but `/`,
 * anchored at both ends), or a regular expression written `/…/` or `/…/i`
 * (not anchored).
 */
import { classifyByLayout, type Classified, type Layout, type Policy } from './layouts.js';

export interface PathRule {
  match: string;
  policy: Policy;
  /** ms */
  ttl?: number;
}

export interface CompiledRule {
  test(path: string): boolean;
  policy: Policy;
  ttlMs?: number;
}

const REGEX_FORM = /^\/(.+)\/(i?)$/;

/** Turns a glob into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        out += '(?:.*/)?';
      } else {
        out += '.*';
      }
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

/** The matcher of one `match` string; throws a SyntaxError on an invalid regular expression. */
export function patternToRegExp(match: string): RegExp {
  const m = REGEX_FORM.exec(match);
  return m ? new RegExp(m[1]!, m[2]) : globToRegExp(match.replace(/^\/+/, ''));
}

export function compileRules(rules: readonly PathRule[]): CompiledRule[] {
  return rules.map((r) => {
    const re = patternToRegExp(r.match);
    return { test: (p: string) => re.test(p), policy: r.policy, ttlMs: r.ttl };
  });
}

/** The policy of a path: the first matching rule, else the layout preset. */
export function classify(layout: Layout, path: string, rules: readonly CompiledRule[]): Classified {
  const preset = classifyByLayout(layout, path);
  const rule = rules.find((r) => r.test(path));
  if (!rule) return preset;
  return { ...preset, policy: rule.policy, ...(rule.ttlMs === undefined ? {} : { ttlMs: rule.ttlMs }) };
}
