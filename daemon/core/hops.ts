/**
 * Mirror hierarchies and the `Via` header (RFC 9110 §7.6.3). Each daemon
 * names itself `larder-<id>`; every upstream request it makes carries
 * `Via: …, 1.1 larder-<id>`, appended to the `Via` of the client request it
 * serves (kept in an AsyncLocalStorage by the HTTP layer, so fills started
 * while answering a forwarded request carry the whole path). A request whose
 * `Via` already names this daemon went round a loop and is refused with 508.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The `Via` header of the client request being served, if any. */
const incoming = new AsyncLocalStorage<string | undefined>();

/** The pseudonym a daemon uses in `Via` (`larder-<id>`). */
export function hopName(daemonId: string): string {
  return `larder-${daemonId}`;
}

/**
 * Runs `fn` with the client's `Via` as the context of every upstream request
 * it starts. A request without `Via` (a client, not another daemon) runs
 * `fn` as it is: on Node 20 the first `run` turns on a promise hook for the
 * whole process, which costs every request after it.
 */
export function withIncomingVia<T>(via: string | undefined, fn: () => T): T {
  if (via === undefined && incoming.getStore() === undefined) return fn();
  return incoming.run(via, fn);
}

/** The `Via` of the client request being served (undefined outside a request or without one). */
export function currentVia(): string | undefined {
  return incoming.getStore();
}

/** The received-by names of a `Via` value (`1.1 a, HTTP/1.1 b (comment)` → [a, b]). */
export function viaNames(via: string): string[] {
  const out: string[] = [];
  for (const part of via.split(',')) {
    const words = part.trim().split(/\s+/);
    if (words.length >= 2 && words[1]) out.push(words[1]);
  }
  return out;
}

/** Whether `via` shows the request already passed through `hop`. */
export function viaIncludes(via: string | undefined, hop: string): boolean {
  return via !== undefined && viaNames(via).includes(hop);
}

/** The `Via` to send upstream: the incoming one (bounded) followed by this hop. */
export function outgoingVia(hop: string, via = currentVia()): string {
  const own = `1.1 ${hop}`;
  if (!via) return own;
  // A long chain is kept whole up to a sane size; past that only the tail matters less than our own entry.
  const kept = via.length > 2048 ? via.slice(via.length - 2048).replace(/^[^,]*,\s*/, '') : via;
  return `${kept}, ${own}`;
}
