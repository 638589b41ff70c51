/**
 * Part of the composition root: starts every registered protocol with the
 * shared services and collects what the rest of the daemon needs from them
 * (HTTP mounts, root routes, warmers by reference scheme, scrub repair by
 * `meta.protocol`). Nothing here names a protocol.
 */
import type { Warmer } from '../core/warm.js';
import type { Entry } from '../core/types.js';
import { defaultRemote, sectionOf, type LoadedConfig } from '../config/load.js';
import type { Mount, RootRoute } from '../http/app.js';
import type { Protocol, ProtocolInstance, ProtocolServices } from '../protocols/contract.js';
import { PROTOCOLS } from '../protocols/registry.js';

/** The services every protocol shares (its default remote and section are added per protocol). */
export type SharedServices = Omit<ProtocolServices, 'defaultRemote' | 'section'>;

export interface ProtocolParts {
  instances: Map<string, ProtocolInstance>;
  mounts: Mount[];
  rootRoutes: RootRoute[];
  /** By reference scheme ("npm"). */
  warmers: Map<string, Warmer>;
  /** Scrub repair, routed by the entry's `meta.protocol`; false for entries nobody can fetch again. */
  repair(entry: Entry): Promise<boolean>;
}

/** Refuses a list in which two protocols claim the same name, mount, remote type, section or scheme. */
export function checkRegistry(list: readonly Protocol[]): void {
  const seen = new Map<string, string>();
  const claim = (what: string, by: string): void => {
    const other = seen.get(what);
    if (other !== undefined) throw new TypeError(`expected each ${what} to belong to one protocol, got ${other} and ${by}`);
    seen.set(what, by);
  };
  for (const p of list) {
    claim(`name ${p.name}`, p.name);
    for (const m of p.mounts) claim(`mount ${m}`, p.name);
    for (const k of p.remotes) claim(`remote type ${k.type}`, p.name);
    if (p.section) claim(`section ${p.section.key}`, p.name);
    if (p.refs) claim(`reference scheme ${p.refs.scheme}`, p.name);
    for (const name of Object.keys(p.defaultRemotes ?? {})) claim(`default remote ${name}`, p.name);
    if (p.remotes.length === 0) throw new TypeError(`expected protocol ${p.name} to serve at least one remote type`);
  }
}

export function buildProtocols(cfg: LoadedConfig, shared: SharedServices, list: readonly Protocol[] = PROTOCOLS): ProtocolParts {
  checkRegistry(list);
  const parts: ProtocolParts = {
    instances: new Map(),
    mounts: [],
    rootRoutes: [],
    warmers: new Map(),
    repair: async (entry) => {
      const name = entry.meta?.protocol;
      const instance = typeof name === 'string' ? parts.instances.get(name) : undefined;
      return instance?.repair ? instance.repair(entry) : false;
    },
  };
  for (const p of list) {
    const instance = p.create({ ...shared, defaultRemote: defaultRemote(cfg, p), section: sectionOf(cfg, p) });
    parts.instances.set(p.name, instance);
    for (const prefix of p.mounts) parts.mounts.push({ prefix, adapter: instance.adapter });
    if (p.rootPaths) parts.rootRoutes.push({ match: p.rootPaths, adapter: instance.adapter });
    if (p.refs && instance.warmer) parts.warmers.set(p.refs.scheme, instance.warmer);
  }
  return parts;
}
