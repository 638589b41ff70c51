/**
 * Generic HTTP remotes (`type: http`) at `/files/<remote>/<path>`, with
 * `url:<remote>/<path>` references. Files are served through the HTTP cache
 * (layouts and rules decide what is immutable); nothing warms `url:`
 * references yet, and scrub drops a damaged file (the next request fetches it).
 */
import type { Protocol } from '../contract.js';
import { FilesAdapter } from './adapter.js';
import { httpRemote } from './config.js';
import { urlRefs } from './ref.js';

export const filesProtocol: Protocol = {
  name: 'files',
  remotes: [httpRemote],
  mounts: ['/files'],
  refs: urlRefs,
  defaultRemotes: { central: { type: 'http', url: 'https://repo1.maven.org/maven2/', layout: 'maven' } },
  create: (s) => ({ adapter: new FilesAdapter({ remotes: s.remotes, cache: s.httpCache }) }),
};
