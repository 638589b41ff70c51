/** Polling for a condition that becomes true asynchronously (tests only). */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `fn` every `everyMs` until it returns something other than
 * `undefined` or `false`, and returns that; throws naming `what` once
 * `timeoutMs` has passed.
 */
export async function waitFor<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
