/**
 * Conda channels (`type: conda`) at `/conda/<remote>/`: repodata and the
 * other index documents streamed through byte for byte and revalidated,
 * packages verified against their repodata sha256, CEP-16 shards verified
 * by their name, `conda:` references (explicit environment files plan
 * them), and scrub repair of packages.
 */
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { CondaAdapter } from './adapter.js';
import { condaRemote } from './config.js';
import { condaPlanners } from './lockfiles.js';
import { condaRefs } from './ref.js';
import { CondaWarmer } from './warmer.js';

export const condaProtocol: Protocol = {
  name: 'conda',
  remotes: [condaRemote],
  mounts: ['/conda'],
  refs: condaRefs,
  planners: condaPlanners,
  create(s) {
    const adapter = new CondaAdapter({ remotes: s.remotes, httpCache: s.httpCache, blobs: s.blobs });
    return {
      adapter,
      warmer: new CondaWarmer(adapter),
      async repair(entry) {
        const [remote, subdir, file] = ['remote', 'subdir', 'file'].map((f) => metaText(entry, f));
        // Index documents are not repaired: a damaged one is fetched again on its next use.
        if (!remote || !subdir || !file) return false;
        return refill(await adapter.packageBlob(remote, subdir, file), () => s.indexed(entry.key));
      },
    };
  },
};
