/** The supply-chain policy layer (release-age cooldown, OSV blocklist) every protocol reaches through ProtocolServices.policy. */
export { Policy, POLICY_OFF, excluded, shortDuration } from './decider.js';
export { Blocklist, parseOsv } from './osv.js';
export { compareVersions, isPrerelease, inRange } from './versions.js';
export type { Decision, OnBlocked, PolicyCount, PolicyDecider, PolicyEvent, PolicyQuery, PolicyRules, PolicySettings } from './types.js';
export { SIGNATURE_ID } from './types.js';
export { policyRefusal, withheldEtag } from './refusal.js';
