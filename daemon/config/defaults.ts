/**
 * The embedded default config: loopback only, and the public upstreams each
 * registered protocol offers (a config file's `remotes` replaces them all).
 */
import { PROTOCOLS } from '../protocols/registry.js';

export function defaultDocument(): Record<string, unknown> {
  const remotes: Record<string, unknown> = {};
  for (const p of PROTOCOLS) for (const [name, remote] of Object.entries(p.defaultRemotes ?? {})) remotes[name] = { ...remote };
  return { listen: '127.0.0.1:7420', storage: { maxSize: '50GB' }, remotes };
}
