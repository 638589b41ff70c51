/**
 * The fetching side of BlobCache: a miss is asked of LAN peers first (when
 * configured and the digest is known), else of the upstream (404/410 are
 * remembered for the negative TTL); its status and announced size are
 * checked, and the fill pipeline takes the body from there.
 */
import type { CoreDeps } from './deps.js';
import { LarderError, notFound } from './errors.js';
import type { EntryFields } from './fill/commit.js';
import type { ActiveFill } from './fill/fill-job.js';
import { fromPeers, type PeerFilled } from './fill/peer-fill.js';
import { FillPipeline } from './fill/pipeline.js';
import type { TempBlob, UpstreamResponse } from './ports.js';
import type { ImmutableRequest, ServedBlob } from './served.js';
import type { NegativeCache } from './single-flight.js';
import type { StorageGuard } from './storage-guard.js';
import { IMMUTABLE_EXPIRY } from './types.js';
import { header, isAbsent, upstreamStatusError } from './upstream-status.js';

export class BlobFetch {
  private readonly pipeline: FillPipeline;

  constructor(
    private readonly deps: CoreDeps,
    private readonly guard: StorageGuard,
    private readonly negative: NegativeCache,
    /** The cache's abort signal: every upstream and peer request listens on it. */
    private readonly signal: AbortSignal,
  ) {
    this.pipeline = new FillPipeline(deps, guard);
  }

  /** Asks LAN peers (when configured), else opens the upstream; checks status and announced size, and starts the fill. */
  async start(req: ImmutableRequest): Promise<ActiveFill> {
    const fromPeer = await this.askPeers(req);
    if (fromPeer?.kind === 'verified') {
      return this.pipeline.adopt(
        {
          spec: { key: req.key, expected: req.expected, expectedSize: fromPeer.result.size, maxBytes: req.maxBytes },
          fields: this.fields(req),
        },
        fromPeer.temp,
        fromPeer.result,
      );
    }
    const res = fromPeer?.res ?? (await this.open(req));
    const expectedSize = announcedSize(req.expectedSize, res);
    if (expectedSize !== undefined && req.maxBytes !== undefined && expectedSize > req.maxBytes) {
      res.body.destroy();
      throw new LarderError('E_UPSTREAM', `${req.key}: ${expectedSize} bytes exceeds the limit of ${req.maxBytes}`);
    }
    return this.pipeline.start({
      spec: { key: req.key, expected: req.expected, expectedSize, maxBytes: req.maxBytes },
      res,
      fields: this.fields(req, header(res, 'content-type')),
    });
  }

  /** The body from LAN peers, for a digest the protocol knows and a disk with room; undefined: ask the upstream. */
  private async askPeers(req: ImmutableRequest): Promise<PeerFilled | undefined> {
    const { peers } = this.deps;
    if (!peers || req.expected.length === 0 || !(await this.guard.room(req.expectedSize))) return undefined;
    const createTemp = async (): Promise<TempBlob> => this.guard.guardTemp(await this.deps.blobs.createTemp(), req.key);
    return fromPeers({ peers, createTemp }, req, this.signal);
  }

  /** The index entry's fields of a new fill (besides digest, size and verified digests). */
  private fields(req: ImmutableRequest, contentType?: string): EntryFields {
    return {
      key: req.key,
      mediaType: req.mediaType ?? contentType,
      fetchedAt: this.deps.clock.now(),
      expiresAt: IMMUTABLE_EXPIRY,
      immutable: true,
      meta: req.meta,
    };
  }

  /** The upstream's 200 response; 404/410 are remembered for the negative TTL. */
  private async open(req: ImmutableRequest): Promise<UpstreamResponse> {
    const res = await req.fetch(this.signal);
    if (res.status === 200) return res;
    if (isAbsent(res.status)) {
      res.body.resume();
      this.negative.add(req.key, this.deps.clock.now() + (req.negativeTtlMs ?? 30_000));
      throw notFound(req.key);
    }
    throw upstreamStatusError(req.key, res);
  }

  /** A second, unstored pass-through for a request that found the first one taken (the disk is full). */
  async direct(req: ImmutableRequest): Promise<ServedBlob> {
    const res = await this.open(req);
    const fill = await this.pipeline.start({
      spec: { key: req.key, expected: req.expected, expectedSize: announcedSize(req.expectedSize, res), maxBytes: req.maxBytes },
      res,
      fields: { key: req.key, mediaType: req.mediaType, fetchedAt: 0, expiresAt: 0, immutable: true },
      store: false,
    });
    const served = fill.serve('BYPASS');
    if (!served) throw new LarderError('E_INTERNAL', `${req.key}: no body to serve`);
    return served;
  }
}

/** The size the body must have: the protocol's, else a valid Content-Length. */
export function announcedSize(fromProtocol: number | undefined, res: UpstreamResponse): number | undefined {
  if (fromProtocol !== undefined) return fromProtocol;
  const value = header(res, 'content-length');
  const announced = value === undefined ? Number.NaN : Number(value);
  return Number.isSafeInteger(announced) && announced >= 0 ? announced : undefined;
}
