/**
 * The memory side of a streaming fill: chunks from the upstream are kept in
 * memory and written to the temp file behind the network, so reading the
 * upstream never waits for the disk (until MAX_UNWRITTEN bytes are queued),
 * and readers that keep up are served from memory instead of reading the
 * temp file back. The most recent KEEP bytes (and everything not yet on
 * disk) stay in memory; a reader further behind reads the file, which by
 * then holds those bytes.
 */
import type { TempBlob } from '../ports.js';

/** Bytes of the body kept in memory behind the newest chunk (a body this small is served from memory throughout). */
export const KEEP = 512 * 1024;
/** Bytes received but not yet written after which the upstream is read no further until the disk catches up. */
export const MAX_UNWRITTEN = 1024 * 1024;
/** Most buffers handed to one vectored write; more are copied together first. */
const MAX_IOV = 64;

export class FillBuffer {
  /** Total bytes received. */
  received = 0;
  private chunks: Buffer[] = [];
  /** Body offset of chunks[0]. */
  private start = 0;
  private writing: Promise<void> | undefined;
  private error: unknown;

  constructor(private readonly temp: TempBlob) {}

  /** Adds a received chunk; waits only when the disk is MAX_UNWRITTEN behind. Throws a write error. */
  async push(chunk: Buffer): Promise<void> {
    if (this.error) throw this.error;
    this.chunks.push(chunk);
    this.received += chunk.length;
    this.writing ??= this.flush();
    if (this.received - this.temp.written > MAX_UNWRITTEN) await this.writing;
    if (this.error) throw this.error;
  }

  /** Waits until every received byte is in the temp file; throws the write error, if any. */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.error) throw this.error;
  }

  /** Up to `len` bytes at body offset `pos` from memory; undefined when `pos` is no longer (or not yet) there. */
  slice(pos: number, len: number): Buffer | undefined {
    if (pos < this.start || pos >= this.received) return undefined;
    let at = this.start;
    for (const c of this.chunks) {
      if (pos < at + c.length) return c.subarray(pos - at, Math.min(c.length, pos - at + len));
      at += c.length;
    }
    return undefined;
  }

  /** Forgets the chunks (the fill is over); later reads go to the file. */
  release(): void {
    this.chunks = [];
    this.start = this.received;
  }

  private async flush(): Promise<void> {
    try {
      while (this.temp.written < this.received) {
        const pending = this.unwritten();
        // An upstream that drips tiny chunks must not turn into a writev of thousands of buffers.
        await this.temp.write(pending.length > MAX_IOV ? Buffer.concat(pending) : pending);
        this.trim();
      }
    } catch (err) {
      this.error ??= err;
    } finally {
      this.writing = undefined;
    }
  }

  /** The chunks (or their tails) not yet in the file. */
  private unwritten(): Buffer[] {
    const written = this.temp.written;
    const out: Buffer[] = [];
    let at = this.start;
    for (const c of this.chunks) {
      const end = at + c.length;
      if (end > written) out.push(at >= written ? c : c.subarray(written - at));
      at = end;
    }
    return out;
  }

  /** Drops written chunks from the front while KEEP bytes stay in memory. */
  private trim(): void {
    const written = this.temp.written;
    for (;;) {
      const first = this.chunks[0];
      if (!first || this.start + first.length > written || this.received - this.start - first.length < KEEP) return;
      this.chunks.shift();
      this.start += first.length;
    }
  }
}
