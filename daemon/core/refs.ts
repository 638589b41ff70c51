/**
 * The reference grammar used by the admin API, the CLI and pin files:
 * `<scheme>:<body>`, one scheme per protocol (its descriptor supplies the
 * {@link RefScheme}). Today:
 *
 *   npm:<name>@<version|range|tag>        npm:@corp/ui@^2.1.0
 *   oci:<host>/<repo>:<tag>[ platform]    oci:docker.io/library/alpine:3.20 linux/arm64
 *   oci:<host>/<repo>@<digest>
 *   pypi:<name>==<version>
 *   go:<module>@<version>
 *   url:<remote>/<path>
 *
 * Errors name the reference and say what is wrong.
 */
import { LarderError } from './errors.js';

/** A parsed reference; each scheme adds its own fields. */
export interface Ref {
  /** The scheme before the colon ("npm"); warmers are looked up by it. */
  readonly protocol: string;
  /** The reference as given (trimmed). */
  readonly raw: string;
}

/** One protocol's part of the grammar. */
export interface RefScheme<R extends Ref = Ref> {
  /** The prefix before the colon, e.g. "npm". */
  readonly scheme: string;
  /** Usage for messages and help, e.g. "npm:<name>@<version|range|tag>". */
  readonly usage: string;
  /** Parses the text after `<scheme>:`; throws {@link badRef} naming what is wrong. */
  parse(body: string, raw: string): R;
  /** The canonical text of a reference (parse(format(r)) equals r). */
  format(ref: R): string;
  /** Whether the reference can move upstream (tags, dist-tags, ranges). */
  isMutable(ref: R): boolean;
}

export function badRef(raw: string, why: string): LarderError {
  return new LarderError('E_BAD_REQUEST', `invalid reference ${JSON.stringify(raw.slice(0, 200))}: ${why}`);
}

const MAX_REF = 1024;

/** The grammar of a set of schemes (the registered protocols'). */
export class RefGrammar {
  private readonly byScheme = new Map<string, RefScheme>();

  constructor(schemes: readonly RefScheme[]) {
    for (const s of schemes) {
      if (this.byScheme.has(s.scheme)) throw new TypeError(`expected one RefScheme per scheme, got "${s.scheme}" twice`);
      this.byScheme.set(s.scheme, s);
    }
  }

  /** Every scheme, in registration order. */
  get schemes(): string[] {
    return [...this.byScheme.keys()];
  }

  parse(input: string): Ref {
    const raw = input.trim();
    if (raw.length === 0) throw badRef(input, 'it is empty');
    if (raw.length > MAX_REF) throw badRef(raw, `it is longer than ${MAX_REF} characters`);
    const colon = raw.indexOf(':');
    if (colon < 0) throw badRef(raw, `expected a protocol prefix: ${this.list((s) => `${s}:`)}`);
    const scheme = this.byScheme.get(raw.slice(0, colon));
    if (!scheme) throw badRef(raw, `unknown protocol "${raw.slice(0, colon)}" (expected ${this.list((s) => s)})`);
    return scheme.parse(raw.slice(colon + 1), raw);
  }

  isMutable(ref: Ref): boolean {
    return this.scheme(ref).isMutable(ref);
  }

  format(ref: Ref): string {
    return this.scheme(ref).format(ref);
  }

  private scheme(ref: Ref): RefScheme {
    const s = this.byScheme.get(ref.protocol);
    if (!s) throw badRef(ref.raw, `unknown protocol "${ref.protocol}"`);
    return s;
  }

  private list(show: (scheme: string) => string): string {
    const all = this.schemes.map(show);
    return all.length > 1 ? `${all.slice(0, -1).join(', ')} or ${all.at(-1)}` : (all[0] ?? '(none)');
  }
}
