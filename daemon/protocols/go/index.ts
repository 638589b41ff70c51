/**
 * The Go module proxy protocol at `/go/` (`/go/<remote>/` for a named
 * remote, with its checksum databases), `go:` references, go.sum, and scrub
 * repair of `.info`, `.mod` and `.zip` files.
 */
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { GoAdapter } from './adapter.js';
import { GoPolicy, infoTime } from './policy.js';
import { goRemote, goSection } from './config.js';
import { goPlanners } from './lockfiles.js';
import { goRefs } from './ref.js';
import { GoWarmer } from './warmer.js';

export const goProtocol: Protocol = {
  name: 'go',
  remotes: [goRemote],
  section: goSection,
  mounts: ['/go'],
  refs: goRefs,
  planners: goPlanners,
  defaultRemotes: { golang: { type: 'go', url: 'https://proxy.golang.org/', sumdbs: ['sum.golang.org'] } },
  create(s) {
    const adapter = new GoAdapter({
      remotes: s.remotes,
      defaultRemote: s.defaultRemote,
      documents: s.documents,
      blobs: s.blobs,
      policy: new GoPolicy(s.policy),
    });
    return {
      adapter,
      warmer: new GoWarmer(adapter),
      async repair(entry) {
        const module = metaText(entry, 'module');
        const version = metaText(entry, 'version');
        const file = metaText(entry, 'file');
        if (!module || !version || (file !== 'info' && file !== 'mod' && file !== 'zip')) return false;
        return refill(await adapter.artifactBlob(module, version, file, metaText(entry, 'remote')), () => s.indexed(entry.key));
      },
      policy: {
        ecosystem: 'Go',
        async subject(ref) {
          const r = goRefs.parse(ref.startsWith('go:') ? ref.slice('go:'.length) : ref, ref);
          const chunks: Buffer[] = [];
          for await (const c of (await adapter.artifactBlob(r.module, r.version, 'info')).open()) chunks.push(Buffer.from(c as Uint8Array));
          const keys = (['info', 'mod', 'zip'] as const).map((k) => adapter.artifactKey(r.module, r.version, k));
          const remote = keys[0]!.split(':')[1] ?? '';
          return { remote, name: r.module, version: r.version, published: infoTime(Buffer.concat(chunks)), keys };
        },
        artifact(entry) {
          const module = metaText(entry, 'module');
          const version = metaText(entry, 'version');
          const file = metaText(entry, 'file');
          return module && version && (file === 'zip' || file === 'mod') ? { name: module, version } : undefined;
        },
      },
    };
  },
};
