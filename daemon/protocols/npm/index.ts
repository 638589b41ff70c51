/**
 * The npm protocol: the registry API at `/npm/` (and tarballs at the root,
 * where npm rewrites lockfile URLs onto the registry), `npm:` references,
 * npm/pnpm/yarn lockfiles, and scrub repair of tarballs.
 */
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { NpmAdapter } from './adapter.js';
import { npmRemote, npmSection, NpmSectionSchema } from './config.js';
import { npmPlanners } from './lockfiles.js';
import { NpmPolicy } from './policy.js';
import { npmPolicyHooks } from './policy-explain.js';
import { npmRefs } from './ref.js';
import { NpmSignatures } from './signatures.js';
import { NpmWarmer } from './warmer.js';

/** `/<name>/-/<file>.tgz` and `/@scope/<name>/-/<file>.tgz` (also with `%2f`). */
const ROOT_TARBALL = /^\/(?:@[^/]+(?:\/|%2[fF]))?[^/@-][^/]*\/-\/[^/]+\.tgz$/;

export const npmProtocol: Protocol = {
  name: 'npm',
  remotes: [npmRemote],
  section: npmSection,
  mounts: ['/npm'],
  rootPaths: ROOT_TARBALL,
  refs: npmRefs,
  planners: npmPlanners,
  defaultRemotes: { npmjs: { type: 'npm', url: 'https://registry.npmjs.org/' } },
  create(s) {
    const signatures = new NpmSignatures(s.policy.signatureMode(), s.documents, s.remotes);
    const adapter = new NpmAdapter({
      remotes: s.remotes,
      defaultRemote: s.defaultRemote,
      scopes: NpmSectionSchema.parse(s.section).scopes ?? {},
      publicUrl: s.publicUrl,
      documents: s.documents,
      blobs: s.blobs,
      policy: new NpmPolicy(s.policy, s.documents, signatures),
      signatures,
    });
    return {
      adapter,
      warmer: new NpmWarmer(adapter),
      policy: npmPolicyHooks(adapter, s.documents),
      async repair(entry) {
        const name = metaText(entry, 'name');
        const file = metaText(entry, 'file');
        if (!name || !file) return false;
        return refill(await adapter.tarballBlob(name, file), () => s.indexed(entry.key));
      },
    };
  },
};
