/**
 * The RubyGems protocol: the compact index, `.gem` files and the full index
 * at `/gems/` (`/gems/<remote>/` for a named remote), `gems:` references,
 * Gemfile.lock pre-warm, and scrub repair of `.gem` files.
 */
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { GemsAdapter } from './adapter.js';
import { gemsRemote, gemsSection } from './config.js';
import { gemsPlanners } from './lockfiles.js';
import { gemsRefs } from './ref.js';
import { GemsWarmer } from './warmer.js';

export const gemsProtocol: Protocol = {
  name: 'gems',
  remotes: [gemsRemote],
  section: gemsSection,
  mounts: ['/gems'],
  refs: gemsRefs,
  planners: gemsPlanners,
  defaultRemotes: { rubygems: { type: 'gems', url: 'https://rubygems.org/' } },
  create(s) {
    const adapter = new GemsAdapter({ remotes: s.remotes, defaultRemote: s.defaultRemote, documents: s.documents, blobs: s.blobs });
    return {
      adapter,
      warmer: new GemsWarmer(adapter),
      async repair(entry) {
        const file = metaText(entry, 'file');
        if (!file?.endsWith('.gem')) return false;
        const served = await adapter.gemBlob(file.slice(0, -'.gem'.length), metaText(entry, 'remote'));
        return refill(served, () => s.indexed(entry.key));
      },
    };
  },
};
