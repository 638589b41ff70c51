/** The `helm:<remote>/<chart>@<version>` reference scheme (an exact chart version of a helm remote). */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';

export interface HelmRef extends Ref {
  readonly protocol: 'helm';
  remote: string;
  chart: string;
  version: string;
}

const REF = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63})\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})@([A-Za-z0-9][A-Za-z0-9.+_-]{0,127})$/;

export const helmRefs: RefScheme<HelmRef> = {
  scheme: 'helm',
  usage: 'helm:<remote>/<chart>@<version>',
  parse(body, raw) {
    const m = REF.exec(body);
    if (!m || body.includes('..')) throw badRef(raw, 'expected helm:<remote>/<chart>@<version>');
    return { protocol: 'helm', raw, remote: m[1]!, chart: m[2]!, version: m[3]! };
  },
  format: (r) => `helm:${r.remote}/${r.chart}@${r.version}`,
  isMutable: () => false,
};
