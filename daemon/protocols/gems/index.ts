/**
 * The RubyGems protocol: the compact index, `.gem` files and the full index
 * at `/gems/` (`/gems/<remote>/` for a named remote), `gems:` references,
 * Gemfile.lock pre-warm, and scrub repair of `.gem` files.
 */
import { LarderError } from '../../core/errors.js';
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { GemsAdapter } from './adapter.js';
import { gemsRemote, gemsSection } from './config.js';
import { gemsPlanners } from './lockfiles.js';
import { stemSplits } from './compact.js';
import { GEMS_ECOSYSTEM, GemsPolicy } from './policy.js';
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
    const adapter = new GemsAdapter({
      remotes: s.remotes,
      defaultRemote: s.defaultRemote,
      documents: s.documents,
      blobs: s.blobs,
      policy: new GemsPolicy(s.policy),
    });
    return {
      adapter,
      warmer: new GemsWarmer(adapter),
      async repair(entry) {
        const file = metaText(entry, 'file');
        if (!file?.endsWith('.gem')) return false;
        const served = await adapter.gemBlob(file.slice(0, -'.gem'.length), metaText(entry, 'remote'));
        return refill(served, () => s.indexed(entry.key));
      },
      policy: {
        ecosystem: GEMS_ECOSYSTEM,
        async subject(ref) {
          const r = gemsRefs.parse(ref.startsWith('gems:') ? ref.slice('gems:'.length) : ref, ref);
          const remote = adapter.remoteFor(undefined);
          const { lines } = await adapter.docs.infoLines(remote, r.name);
          const line = lines.find((l) => l.full === r.version);
          if (!line) throw new LarderError('E_NOT_FOUND', `${r.name} has no version ${r.version} upstream`);
          const times = await adapter.docs.times(remote, r.name).catch(() => ({}) as Record<string, number>);
          const keys = [adapter.gemKey(`${r.name}-${line.full}`, remote.name)];
          return { remote: remote.name, name: r.name, version: line.version, published: times[line.full] ?? times[line.version], keys };
        },
        artifact(entry) {
          const gem = metaText(entry, 'gem');
          const file = metaText(entry, 'file');
          const split = file?.endsWith('.gem') ? stemSplits(file.slice(0, -'.gem'.length)).find((c) => c.name === gem) : undefined;
          return gem && split ? { name: gem, version: split.full.split('-')[0]! } : undefined;
        },
      },
    };
  },
};
