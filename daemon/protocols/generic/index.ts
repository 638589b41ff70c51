/**
 * Generic HTTP remotes (`type: http`) at `/files/<remote>/<path>`, with
 * `url:<remote>/<path>` references. Files are served through the HTTP cache
 * (layouts and rules decide what is immutable); `url:` references are
 * pre-warmed and pinned through the same path (warmer.ts), and scrub drops a
 * damaged file (the next request fetches it).
 */
import type { Protocol } from '../contract.js';
import { FilesAdapter } from './adapter.js';
import { httpRemote } from './config.js';
import { urlRefs } from './ref.js';
import { FilesWarmer } from './warmer.js';

export const filesProtocol: Protocol = {
  name: 'files',
  remotes: [httpRemote],
  mounts: ['/files'],
  refs: urlRefs,
  defaultRemotes: { central: { type: 'http', url: 'https://repo1.maven.org/maven2/', layout: 'maven' } },
  create: (s) => {
    const adapter = new FilesAdapter({ remotes: s.remotes, cache: s.httpCache });
    return { adapter, warmer: new FilesWarmer(adapter, s.httpCache, s.remotes) };
  },
};
