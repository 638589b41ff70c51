/**
 * Pre-warming and pinning of `url:<remote>/<path>` references: the file is
 * fetched through the same adapter and HTTP cache as a client's request
 * (its layout's rules, sidecar checksums and verification included) and
 * must end up stored under its own key. A file is a mutable reference: it
 * resolves to the upstream's validator (ETag, else Last-Modified, else the
 * stored digest), and a pin re-fetches it when a HEAD shows a new one.
 */
import { LarderError } from '../../core/errors.js';
import { consume, refuseBypass, type Closure, type Warmer, type WarmOptions } from '../../core/warm.js';
import type { Ref } from '../../core/refs.js';
import type { HttpCache } from '../../core/http-cache.js';
import { drain, header } from '../../core/upstream-status.js';
import type { Entry } from '../../core/types.js';
import type { Remote } from '../../upstream/remote.js';
import type { FilesAdapter } from './adapter.js';
import { fileKey } from './paths.js';
import type { UrlRef } from './ref.js';

/** What a stored file resolves to: the upstream's validator, else its digest. */
function versionOf(entry: Entry): string {
  return entry.validators?.etag ?? entry.validators?.lastModified ?? entry.digest;
}

function encoded(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export class FilesWarmer implements Warmer {
  readonly protocol = 'url';

  constructor(
    private readonly adapter: FilesAdapter,
    private readonly cache: HttpCache,
    private readonly remotes: ReadonlyMap<string, Remote>,
  ) {}

  /** Asks the upstream (HEAD) for the file's current validator; the stored one when it sends none. */
  async resolve(ref: Ref): Promise<string> {
    const r = ref as UrlRef;
    const remote = this.remotes.get(r.remote);
    if (!remote) throw new LarderError('E_NOT_FOUND', `${r.raw}: no remote named ${r.remote}`);
    const res = await remote.request({ url: remote.resolve(encoded(r.path)), method: 'HEAD' });
    drain(res);
    if (res.status === 404 || res.status === 410) throw new LarderError('E_NOT_FOUND', `${r.raw}: not found upstream`);
    if (res.status !== 200) throw new LarderError('E_UPSTREAM_STATUS', `${r.raw}: the upstream answered HEAD with ${res.status}`);
    const stored = this.cache.peek(fileKey(r.remote, r.path));
    return header(res, 'etag') ?? header(res, 'last-modified') ?? (stored ? versionOf(stored) : 'unknown');
  }

  async warm(ref: Ref, opts: WarmOptions): Promise<Closure> {
    const r = ref as UrlRef;
    const key = fileKey(r.remote, r.path);
    // A pin that saw a new validator upstream must get the new file, however fresh the stored one looks.
    await this.cache.expire(key);
    const res = await this.adapter.handle({
      method: 'GET',
      path: `/${r.remote}/${encoded(r.path)}`,
      query: new URLSearchParams(),
      headers: {},
      body: async () => Buffer.alloc(0),
    });
    let fetched = 0;
    const onBytes = (n: number): void => {
      fetched += n;
      opts.onBytes(n);
    };
    if (res.body.type === 'blob') {
      refuseBypass(res.body.blob, r.raw);
      if (res.body.blob.state === 'MISS') await consume(res.body.blob.open(), onBytes);
      await res.body.blob.done();
    } else if (res.body.type === 'stream') {
      res.body.stream.destroy();
    }
    const entry = this.cache.peek(key);
    if (!entry) {
      throw new LarderError('E_BAD_REQUEST', `${r.raw}: the file is not stored (its upstream or its remote's rules forbid caching it)`);
    }
    return { resolved: versionOf(entry), keys: [key], bytes: entry.size, fetched, children: [] };
  }
}
