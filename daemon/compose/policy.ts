/**
 * Part of the composition root: the supply-chain policy from the config,
 * with the OSV blocklist folder read at start. The pin lookup is attached
 * once the pin manager exists (pins are an exception to the age gate).
 */
import type { Clock } from '../core/ports.js';
import { Blocklist, Policy } from '../core/policy/index.js';
import { type PolicyConfig, policySettings } from '../config/policy.js';

export interface PolicyLog {
  info(obj: object, msg: string): void;
}

export function buildPolicy(cfg: PolicyConfig, clock: Clock, log: PolicyLog): Policy {
  const blocklist = new Blocklist(cfg.blocklist.ids);
  if (cfg.blocklist.osv) {
    const kept = blocklist.loadFolder(cfg.blocklist.osv);
    log.info({ folder: cfg.blocklist.osv, records: kept }, 'policy: OSV blocklist loaded');
  }
  return new Policy(policySettings(cfg), blocklist, clock);
}
