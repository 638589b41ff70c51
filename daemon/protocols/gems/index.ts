/**
 * The RubyGems protocol: the compact index, `.gem` files and the full index
 * at `/gems/` (`/gems/<remote>/` for a named remote).
 */
import type { Protocol } from '../contract.js';
import { GemsAdapter } from './adapter.js';
import { gemsRemote, gemsSection } from './config.js';

export const gemsProtocol: Protocol = {
  name: 'gems',
  remotes: [gemsRemote],
  section: gemsSection,
  mounts: ['/gems'],
  defaultRemotes: { rubygems: { type: 'gems', url: 'https://rubygems.org/' } },
  create(s) {
    const adapter = new GemsAdapter({ remotes: s.remotes, defaultRemote: s.defaultRemote, documents: s.documents, blobs: s.blobs });
    return { adapter };
  },
};
