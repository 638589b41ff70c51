/**
 * The `policy:` section of the config: the release-age cooldown, the names
 * that skip it, the OSV blocklist folder and what a blocklist match does;
 * `policy.remotes.<name>` overrides the age gate, the excluded names and
 * `onBlocked` for one remote.
 */
import { z } from 'zod';
import type { PolicySettings } from '../core/policy/types.js';
import { duration } from './fields.js';

const onBlocked = z
  .enum(['refuse', 'warn'])
  .describe('What a blocklisted version gets: "refuse" (left out of metadata, refused on request) or "warn" (served, counted, logged)');
const exclude = z
  .array(z.string().min(1))
  .describe('Names that skip the age gate: "@corp/*", "npm:left-pad" (a protocol: prefix narrows to one protocol; * is a wildcard)');

const RemotePolicySchema = z
  .object({
    minAge: duration('This remote\'s release-age cooldown (overrides policy.minAge; "0" turns it off)').optional(),
    exclude: exclude.optional(),
    onBlocked: onBlocked.optional(),
  })
  .strict();

export const PolicySchema = z
  .object({
    minAge: duration('Versions published more recently than this are held back (0 = no cooldown), e.g. "3d"').default(0),
    exclude: exclude.default([]),
    blocklist: z
      .object({
        osv: z.string().min(1).optional().describe('A folder of OSV JSON records (malware advisories), or a .zip of them, read at start'),
        watch: z
          .boolean()
          .default(true)
          .describe('Watch the osv folder or zip: an added, changed or removed record takes effect without a restart'),
        ids: z
          .array(z.string().min(1))
          .default(['MAL-'])
          .describe('OSV id prefixes that block (default: MAL- malware records only; add e.g. "GHSA-" to opt in)'),
      })
      .strict()
      .default({}),
    onBlocked: onBlocked.default('refuse'),
    npmSignatures: z
      .enum(['off', 'warn', 'require'])
      .default('off')
      .describe(
        'npm registry signatures (dist.signatures against /-/npm/v1/keys): "off", "warn" (serve, count, log) or "require" (refuse a missing or invalid one)',
      ),
    remotes: z.record(z.string(), RemotePolicySchema).default({}).describe('Per-remote overrides, by remote name'),
  })
  .strict()
  .describe('Supply-chain policy: release-age cooldown and OSV malware blocklist, for every protocol');

export type PolicyConfig = z.output<typeof PolicySchema>;

/** The decider's settings from the validated section. */
export function policySettings(cfg: PolicyConfig): PolicySettings {
  const remotes: PolicySettings['remotes'] = Object.fromEntries(
    Object.entries(cfg.remotes).map(([name, r]) => [
      name,
      {
        ...(r.minAge !== undefined ? { minAgeMs: r.minAge } : {}),
        ...(r.exclude ? { exclude: r.exclude } : {}),
        ...(r.onBlocked ? { onBlocked: r.onBlocked } : {}),
      },
    ]),
  );
  const signatures = cfg.npmSignatures !== 'off' ? { npmSignatures: cfg.npmSignatures } : {};
  return { minAgeMs: cfg.minAge, exclude: cfg.exclude, onBlocked: cfg.onBlocked, remotes, ...signatures };
}
