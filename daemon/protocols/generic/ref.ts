/** The `url:<remote>/<path>` reference scheme (a file of a generic HTTP remote). */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';

export interface UrlRef extends Ref {
  readonly protocol: 'url';
  remote: string;
  path: string;
}

const REMOTE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const urlRefs: RefScheme<UrlRef> = {
  scheme: 'url',
  usage: 'url:<remote>/<path>',
  parse(body, raw) {
    const slash = body.indexOf('/');
    if (slash <= 0) throw badRef(raw, 'expected url:<remote>/<path>');
    const remote = body.slice(0, slash);
    const path = body.slice(slash + 1);
    if (!REMOTE.test(remote)) throw badRef(raw, `"${remote}" is not a remote name`);
    if (!path || path.split('/').some((s) => s === '..' || s === '.'))
      throw badRef(raw, 'the path must not be empty or contain . or .. segments');
    return { protocol: 'url', raw, remote, path };
  },
  format: (r) => `url:${r.remote}/${r.path}`,
  isMutable: () => true,
};
