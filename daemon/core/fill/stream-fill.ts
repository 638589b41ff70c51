/**
 * A streaming fill: one upstream body written to one temp file while it is
 * hashed, readable by any number of clients while it grows.
 *
 * - Readers read the temp file positionally, so a follower that joins late
 *   gets the bytes already received and then the rest as they arrive; the
 *   upstream is read once, at disk speed, whatever the clients do.
 * - The last HOLDBACK bytes are released only once every expected digest and
 *   the size verified; on mismatch every reader is destroyed, so a client sees
 *   a failed transfer, never a complete wrong file.
 * - A reader that goes away does not stop the fill.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { type LarderError, toLarderError } from '../errors.js';
import { FillBuffer } from './buffer.js';
import { chunksOf } from './chunks.js';
import { FillReadStream, type GrowingBody } from './fill-reader.js';
import { HOLDBACK, Verifier, type FillResult, type FillSpec } from './verify.js';
import type { TempBlob } from '../ports.js';

type State = 'running' | 'verified' | 'failed';

export class StreamFill extends EventEmitter implements GrowingBody {
  state: State = 'running';
  error: LarderError | undefined;
  result: FillResult | undefined;
  /** `sha256:<hex>` once the verified body was committed to the CAS. */
  stored: string | undefined;
  private readers = 0;
  /** Received bytes: the recent ones in memory, written to the temp file behind the network. */
  private readonly buffer: FillBuffer;
  private finished = false;
  private closed = false;
  readonly done: Promise<FillResult>;

  constructor(
    readonly spec: FillSpec,
    private readonly temp: TempBlob,
  ) {
    super();
    this.setMaxListeners(0);
    this.buffer = new FillBuffer(temp);
    this.done = new Promise<FillResult>((resolve, reject) => {
      this.once('verified', () => resolve(this.result!));
      this.once('failed', (err: LarderError) => reject(err));
    });
    this.done.catch(() => undefined);
  }

  /** Total size when known in advance (for Content-Length and ranges). */
  get knownSize(): number | undefined {
    return this.result?.size ?? this.spec.expectedSize;
  }

  /** Bytes that readers may already have. */
  get safe(): number {
    return this.state === 'verified' ? this.buffer.received : Math.max(0, this.buffer.received - HOLDBACK);
  }

  /**
   * Pumps `body` into the temp file. Resolves after verification with the
   * result, then `commit` runs (rename + index) before the temp handle is
   * released. Rejects with E_INTEGRITY on a mismatch.
   */
  async run(body: Readable | AsyncIterable<Buffer>, commit: (r: FillResult) => Promise<void>): Promise<FillResult> {
    const verifier = new Verifier(this.spec);
    try {
      for await (const chunk of body instanceof Readable ? chunksOf(body) : body) {
        verifier.update(chunk);
        await this.buffer.push(chunk);
        this.emit('progress');
      }
      await this.buffer.drain();
      this.result = verifier.finish();
      this.state = 'verified';
      this.emit('verified');
      this.emit('progress');
      await commit(this.result);
      this.stored = this.result.digest;
      return this.result;
    } catch (err) {
      const e = toLarderError(err);
      await this.buffer.drain().catch(() => undefined);
      if (this.state === 'running') {
        // A temp file that cannot be removed must not leave the readers waiting.
        await this.temp.abort().catch(() => undefined);
        this.state = 'failed';
        this.error = e;
        this.emit('failed', e);
        this.emit('progress');
      } else {
        // Verified bytes reached the clients; only the commit failed.
        await this.temp.abort().catch(() => undefined);
      }
      throw e;
    } finally {
      this.finished = true;
      await this.maybeRelease();
    }
  }

  /** A readable over [start, end] (inclusive) of the growing body. */
  reader(start = 0, end?: number): FillReadStream {
    this.readers++;
    return new FillReadStream(this, start, end);
  }

  /** Bytes received in all. */
  get received(): number {
    return this.buffer.received;
  }

  held(pos: number, len: number): Buffer | undefined {
    return this.buffer.slice(pos, len);
  }

  readFile(into: Buffer, pos: number, len: number): Promise<number> {
    return this.temp.read(into, pos, len);
  }

  readerGone(): void {
    this.readers--;
    void this.maybeRelease();
  }

  /** Whether the temp file is closed: a reader opened now must read the committed blob (`stored`) instead. */
  get released(): boolean {
    return this.closed;
  }

  private async maybeRelease(): Promise<void> {
    if (this.finished && this.readers === 0 && !this.closed) {
      this.closed = true;
      this.buffer.release();
      await this.temp.release();
    }
  }
}
