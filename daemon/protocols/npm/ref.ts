/** The `npm:<name>@<version|range|tag>` reference scheme. */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';

export interface NpmRef extends Ref {
  readonly protocol: 'npm';
  name: string;
  spec: string;
}

const NPM_NAME = /^(?:@[a-z0-9_~-][a-z0-9._~-]*\/)?[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;
const EXACT = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/;

export const npmRefs: RefScheme<NpmRef> = {
  scheme: 'npm',
  usage: 'npm:<name>@<version|range|tag>',
  parse(body, raw) {
    const at = body.lastIndexOf('@');
    if (at <= 0) throw badRef(raw, 'expected npm:<name>@<version|range|tag>');
    const name = body.slice(0, at);
    const spec = body.slice(at + 1).trim();
    if (!NPM_NAME.test(name) || name.length > 214) throw badRef(raw, `"${name}" is not a valid npm package name`);
    if (!spec || /[\s]{2,}|[\u0000-\u001f]/.test(spec)) throw badRef(raw, 'expected a version, range or tag after @');
    return { protocol: 'npm', raw, name, spec };
  },
  format: (r) => `npm:${r.name}@${r.spec}`,
  isMutable: (r) => !EXACT.test(r.spec),
};
