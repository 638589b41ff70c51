/** The `pypi:<name>==<version>` reference scheme. */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';

export interface PypiRef extends Ref {
  readonly protocol: 'pypi';
  name: string;
  version: string;
}

const PYPI_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

export const pypiRefs: RefScheme<PypiRef> = {
  scheme: 'pypi',
  usage: 'pypi:<name>==<version>',
  parse(body, raw) {
    const m = /^([^=\s]+)==([^=\s]+)$/.exec(body);
    if (!m) throw badRef(raw, 'expected pypi:<name>==<version>');
    if (!PYPI_NAME.test(m[1]!)) throw badRef(raw, `"${m[1]}" is not a valid project name`);
    return { protocol: 'pypi', raw, name: m[1]!, version: m[2]! };
  },
  format: (r) => `pypi:${r.name}==${r.version}`,
  isMutable: () => false,
};
