/**
 * Revalidating an append-only compact index file (`/versions`, `/info/<gem>`)
 * as Bundler does: with a copy held, ask only for what follows it
 * (`Range: bytes=<size-1>-` with `If-None-Match`), append the new bytes, and
 * keep the result only if its md5 is the upstream's ETag (the compact index
 * ETag is the md5 of the whole file). Anything else (no 206, a range that
 * does not line up, another md5: the file was rewritten) costs one plain
 * request for the whole file. `/versions` of rubygems.org is tens of MB and
 * changes every few minutes: this keeps each refresh to its new lines.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { readBody } from '../../core/read-body.js';
import type { UpstreamResponse } from '../../core/ports.js';
import type { Validators } from '../../core/types.js';
import { drain, header } from '../../core/upstream-status.js';
import type { Remote } from '../../upstream/remote.js';

/** The copy Larder holds of a file: its upstream ETag and a reader of its bytes. */
export interface HeldCopy {
  etag: string;
  body(): Promise<Buffer>;
}

const MAX_TAIL = 256 * 1024 * 1024;

export async function fetchAppended(
  remote: Remote,
  url: string,
  held: HeldCopy | undefined,
  validators: Validators,
  signal: AbortSignal,
): Promise<UpstreamResponse> {
  const plain: Record<string, string> = { accept: '*/*' };
  const conditional = { ...plain };
  if (validators.etag) conditional['if-none-match'] = validators.etag;
  if (validators.lastModified) conditional['if-modified-since'] = validators.lastModified;
  if (!held || held.etag !== validators.etag) return remote.request({ url, headers: conditional, signal });
  // A copy that cannot be read (evicted meanwhile) is simply not used.
  const old = await held.body().catch(() => undefined);
  if (!old || old.length === 0) return remote.request({ url, headers: conditional, signal });
  const res = await remote.request({
    url,
    headers: { ...conditional, range: `bytes=${old.length - 1}-`, 'accept-encoding': 'identity' },
    signal,
  });
  if (res.status !== 206) {
    if (res.status !== 416) return res;
    drain(res);
    return remote.request({ url, headers: plain, signal });
  }
  const tail = await readBody(res, MAX_TAIL, url);
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header(res, 'content-range') ?? '');
  const etag = header(res, 'etag')?.replace(/^W\//, '');
  if (m && Number(m[1]) === old.length - 1 && tail.length > 0 && tail[0] === old[old.length - 1]) {
    const full = Buffer.concat([old, tail.subarray(1)]);
    if (etag === `"${createHash('md5').update(full).digest('hex')}"`) {
      const headers: UpstreamResponse['headers'] = { ...res.headers, 'content-length': String(full.length) };
      delete headers['content-range'];
      return { status: 200, headers, body: Readable.from([full]), url: res.url };
    }
  }
  return remote.request({ url, headers: plain, signal });
}
