/**
 * Helm chart repositories (`type: helm`) at `/helm/<remote>/`: the index
 * with chart URLs rewritten to Larder, verified chart archives and their
 * provenance files, `helm:` references, and scrub repair of charts.
 */
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { HelmAdapter } from './adapter.js';
import { helmRemote } from './config.js';
import { helmRefs } from './ref.js';
import { HelmWarmer } from './warmer.js';

export const helmProtocol: Protocol = {
  name: 'helm',
  remotes: [helmRemote],
  mounts: ['/helm'],
  refs: helmRefs,
  create(s) {
    const adapter = new HelmAdapter({ remotes: s.remotes, publicUrl: s.publicUrl, documents: s.documents, blobs: s.blobs });
    return {
      adapter,
      warmer: new HelmWarmer(adapter),
      async repair(entry) {
        const [remote, chart, version, file] = ['remote', 'chart', 'version', 'file'].map((f) => metaText(entry, f));
        if (!remote || !chart || !version || !file) return false;
        const prov = file.endsWith('.prov');
        const served = await adapter.chartBlob(remote, chart, version, prov ? file.slice(0, -'.prov'.length) : file, prov);
        return refill(served, () => s.indexed(entry.key));
      },
    };
  },
};
