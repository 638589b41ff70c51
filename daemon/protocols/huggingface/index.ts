/**
 * The Hugging Face Hub protocol: the Hub's download and API paths at `/hf/`
 * (`/hf/<remote>/` for a named remote), for `HF_ENDPOINT`; `hf:` references
 * (a whole snapshot or one file); scrub repair of repository files.
 */
import { refill } from '../../core/warm.js';
import type { Protocol } from '../contract.js';
import { HfAdapter } from './adapter.js';
import { hfRemote, hfSection } from './config.js';
import { fileOfEntry } from './files.js';
import { hfRefs } from './ref.js';
import { HfWarmer } from './warmer.js';

export const huggingfaceProtocol: Protocol = {
  name: 'huggingface',
  remotes: [hfRemote],
  section: hfSection,
  mounts: ['/hf'],
  refs: hfRefs,
  defaultRemotes: { huggingface: { type: 'huggingface', url: 'https://huggingface.co' } },
  create(s) {
    const adapter = new HfAdapter({
      remotes: s.remotes,
      defaultRemote: s.defaultRemote,
      documents: s.documents,
      blobs: s.blobs,
      clock: s.clock,
    });
    return {
      adapter,
      warmer: new HfWarmer(adapter),
      async repair(entry) {
        const f = fileOfEntry(entry);
        if (!f) return false;
        const remote = adapter.remoteFor(f.remote);
        const { blob } = await adapter.files.serve({ remote, repo: f.repo, commit: f.commit, path: f.path });
        return refill(blob, () => s.indexed(entry.key));
      },
    };
  },
};
