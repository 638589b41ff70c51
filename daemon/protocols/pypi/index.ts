/**
 * The PyPI protocol: the simple repository API at `/pypi/` (`/pypi/<remote>/`
 * for a named remote), `pypi:` references, requirements files, and scrub
 * repair of distribution files and their `.metadata`.
 */
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { PypiPolicy } from './policy.js';
import { PypiAdapter } from './adapter.js';
import { pypiRemote, pypiSection } from './config.js';
import { pypiPlanners } from './lockfiles.js';
import { pypiRefs } from './ref.js';
import { PypiWarmer } from './warmer.js';

export const pypiProtocol: Protocol = {
  name: 'pypi',
  remotes: [pypiRemote],
  section: pypiSection,
  mounts: ['/pypi'],
  refs: pypiRefs,
  planners: pypiPlanners,
  defaultRemotes: { pypi: { type: 'pypi', url: 'https://pypi.org/simple/', filesUrl: 'https://files.pythonhosted.org/' } },
  create(s) {
    const adapter = new PypiAdapter({
      remotes: s.remotes,
      defaultRemote: s.defaultRemote,
      publicUrl: s.publicUrl,
      documents: s.documents,
      blobs: s.blobs,
      policy: new PypiPolicy(s.policy),
    });
    return {
      adapter,
      warmer: new PypiWarmer(adapter),
      async repair(entry) {
        const project = metaText(entry, 'project');
        const file = metaText(entry, 'file');
        if (!project || !file) return false;
        const metadata = file.endsWith('.metadata');
        const served = await adapter.fileBlob(
          project,
          metadata ? file.slice(0, -'.metadata'.length) : file,
          metadata,
          metaText(entry, 'remote'),
        );
        return refill(served, () => s.indexed(entry.key));
      },
    };
  },
};
