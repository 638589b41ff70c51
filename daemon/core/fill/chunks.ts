/**
 * The chunks of a body as they arrive, one by one.
 *
 * `for await` over a Readable calls `read()`, which hands over everything
 * buffered at that moment as one buffer: when the consumer is a little
 * behind (a temp file being opened, the main thread busy with another
 * fill), the chunks the socket delivered are copied together into a new
 * allocation, hundreds of KiB at a time. A fill hashes and stores the bytes
 * whatever their grouping, so the copies buy nothing. Here the chunks come
 * from `data` events as they are and the stream is paused while QUEUE_HIGH
 * bytes wait (as much as the PassThrough in front of it holds), so
 * backpressure still reaches the upstream.
 *
 * Ending: after `end`, or with the stream's error; a stream closed before
 * its end is a premature close. Returning early destroys the stream.
 */
import type { Readable } from 'node:stream';

/** Bytes queued before the stream is paused, and the level at which it is resumed. */
const QUEUE_HIGH = 256 * 1024;
const QUEUE_LOW = 64 * 1024;

export async function* chunksOf(stream: Readable): AsyncGenerator<Buffer, void, undefined> {
  if (stream.readableEnded) return;
  if (stream.destroyed) throw stream.errored ?? Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= QUEUE_HIGH) stream.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (err: Error): void => {
    // An error after the end (a socket reset once the body was complete) does not spoil the body.
    if (!ended) failure ??= err;
    notify();
  };
  const onClose = (): void => {
    if (!ended) failure ??= Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    notify();
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        queued -= chunk.length;
        if (queued <= QUEUE_LOW && stream.isPaused() && !ended) stream.resume();
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
    if (!ended && !stream.destroyed) stream.destroy();
  }
}
