/**
 * Part of the composition root: the supply-chain policy from the config,
 * with the OSV blocklist (a folder or a zip) read at start and then watched
 * (policy-watch.ts). The pin lookup is attached
 * once the pin manager exists (pins are an exception to the age gate).
 * The admin side (status, explain, the blocklist quarantine) is built from
 * the protocols' policy hooks.
 */
import type { QuarantinedArtifact } from '../admin/contract.js';
import { PolicyAdmin } from '../admin/policy.js';
import { PolicyQuarantine } from '../admin/policy-quarantine.js';
import type { BlobStore, Clock, HotCache, IndexStore, TableStore } from '../core/ports.js';
import { Blocklist, Policy } from '../core/policy/index.js';
import { type PolicyConfig, policySettings } from '../config/policy.js';
import type { PolicyHooks, ProtocolInstance } from '../protocols/contract.js';

export interface PolicyLog {
  info(obj: object, msg: string): void;
}

export function buildPolicy(cfg: PolicyConfig, clock: Clock, log: PolicyLog): Policy {
  const blocklist = new Blocklist(cfg.blocklist.ids);
  if (cfg.blocklist.osv) {
    const kept = blocklist.loadPath(cfg.blocklist.osv);
    log.info({ path: cfg.blocklist.osv, records: kept }, 'policy: OSV blocklist loaded');
  }
  return new Policy(policySettings(cfg), blocklist, clock);
}

export interface PolicyAdminParts {
  instances: ReadonlyMap<string, ProtocolInstance>;
  index: IndexStore & TableStore;
  blobs: BlobStore;
  hot: HotCache;
  onQuarantine(q: QuarantinedArtifact): void | Promise<void>;
}

/** The admin endpoints' view of the policy, and the quarantine sweep to run once the daemon is up. */
export function buildPolicyAdmin(
  policy: Policy,
  cfg: PolicyConfig,
  p: PolicyAdminParts,
): { admin: PolicyAdmin; sweep(): Promise<QuarantinedArtifact[]> } {
  const hooks = new Map<string, PolicyHooks>();
  for (const [name, instance] of p.instances) if (instance.policy) hooks.set(name, instance.policy);
  const quarantine = new PolicyQuarantine({
    policy,
    hooks,
    index: p.index,
    blobs: p.blobs,
    hot: p.hot,
    table: p.index.table<QuarantinedArtifact>('policy-quarantine'),
    onQuarantine: p.onQuarantine,
  });
  return { admin: new PolicyAdmin({ policy, config: cfg, hooks, quarantine }), sweep: () => quarantine.sweep() };
}
