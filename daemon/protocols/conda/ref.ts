/** The `conda:<remote>/<subdir>/<file>` reference scheme (one package file of a conda remote). */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';
import { REMOTE_NAME } from '../adapter.js';
import { validPackage } from './paths.js';

export interface CondaRef extends Ref {
  readonly protocol: 'conda';
  remote: string;
  subdir: string;
  file: string;
}

export const condaRefs: RefScheme<CondaRef> = {
  scheme: 'conda',
  usage: 'conda:<remote>/<subdir>/<package file> (e.g. conda:forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda)',
  parse(body, raw) {
    const parts = body.split('/');
    const [remote, subdir, file] = parts;
    if (parts.length !== 3 || !remote || !subdir || !file || !REMOTE_NAME.test(remote) || !validPackage(subdir, file)) {
      throw badRef(raw, 'expected conda:<remote>/<subdir>/<name>-<version>-<build>.conda (or .tar.bz2)');
    }
    return { protocol: 'conda', raw, remote, subdir, file };
  },
  format: (r) => `conda:${r.remote}/${r.subdir}/${r.file}`,
  isMutable: () => false,
};
