/**
 * `Intl.ListFormat` that loads its locale data on first use instead of at
 * construction, installed by `larder serve` before the daemon's modules load.
 *
 * got's type checker (`@sindresorhus/is`) builds two list formatters at
 * import time, for error messages the daemon never produces on its normal
 * path. Creating any ICU formatter maps ~4 MB of the node binary's ICU data
 * into the process (measured: /proc/self/pagemap over `icudt*_dat`, 0.5 MB
 * before `import('got')`, 4.5 MB after; 0.5 MB after with this shim). With the
 * shim the data is read when a message is first formatted, if ever.
 *
 * Behaviour is the real formatter's: every method forwards to an instance
 * built with the same arguments. Only the moment an invalid locale or option
 * throws moves from construction to first use. `LARDER_V8_TUNING=0` (which
 * turns off all of the daemon's start-up memory tuning) leaves it out.
 */

import { v8TuningDisabled } from './heap.js';

type ListFormatCtor = typeof Intl.ListFormat;
type Args = ConstructorParameters<ListFormatCtor>;

let installed = false;

/** A ListFormat class whose instances build the real formatter on first use. */
export function lazyListFormat(Real: ListFormatCtor): ListFormatCtor {
  class LazyListFormat {
    #args: Args;
    #real: Intl.ListFormat | undefined;

    constructor(...args: Args) {
      this.#args = args;
    }

    #get(): Intl.ListFormat {
      return (this.#real ??= new Real(...this.#args));
    }

    format(list: Iterable<string>): string {
      return this.#get().format(list);
    }

    formatToParts(list: Iterable<string>): { type: 'element' | 'literal'; value: string }[] {
      return this.#get().formatToParts(list);
    }

    resolvedOptions(): Intl.ResolvedListFormatOptions {
      return this.#get().resolvedOptions();
    }

    get [Symbol.toStringTag](): string {
      return 'Intl.ListFormat';
    }

    static supportedLocalesOf(...args: Parameters<ListFormatCtor['supportedLocalesOf']>): string[] {
      return Real.supportedLocalesOf(...args);
    }
  }
  return LazyListFormat as unknown as ListFormatCtor;
}

/** Replaces the global `Intl.ListFormat` with {@link lazyListFormat} (once). */
export function deferListFormatData(env: NodeJS.ProcessEnv = process.env): boolean {
  if (v8TuningDisabled(env)) return false;
  if (installed) return true;
  installed = true;
  (Intl as { ListFormat: ListFormatCtor }).ListFormat = lazyListFormat(Intl.ListFormat);
  return true;
}
