/**
 * The PyPI protocol: the simple repository API at `/pypi/` (`/pypi/<remote>/`
 * for a named remote), `pypi:` references, requirements files, and scrub
 * repair of distribution files and their `.metadata`.
 */
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { LarderError } from '../../core/errors.js';
import { fileVersion, PypiPolicy, versionFiles } from './policy.js';
import { normalizeName } from './names.js';
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
      policy: {
        ecosystem: 'PyPI',
        async subject(ref) {
          const r = pypiRefs.parse(ref.startsWith('pypi:') ? ref.slice('pypi:'.length) : ref, ref);
          const project = normalizeName(r.name);
          const v = versionFiles(await adapter.pageJson(project), project, r.version);
          if (v.files.length === 0) throw new LarderError('E_NOT_FOUND', `${project} has no files of version ${r.version} upstream`);
          const keys = v.files.flatMap((f) => [adapter.fileKey(project, f, false), adapter.fileKey(project, f, true)]);
          const remote = keys[0]!.split(':')[1] ?? '';
          return { remote, name: project, version: r.version, published: v.published, keys, pinRef: `pypi:${r.name}==${r.version}` };
        },
        artifact(entry) {
          const project = metaText(entry, 'project');
          const file = metaText(entry, 'file')?.replace(/\.metadata$/, '');
          const version = project && file ? fileVersion(file, project) : undefined;
          return project && version ? { name: project, version } : undefined;
        },
      },
    };
  },
};
