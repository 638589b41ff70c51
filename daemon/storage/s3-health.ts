/**
 * Health of the shared S3 tier, for /readyz and /metrics: a cheap
 * `HeadBucket` every few seconds (never one per request) whose last result
 * says whether S3 is up and, when it is not, why; and a count of failed S3
 * requests by operation ("not found" is an answer, not a failure: every miss
 * asks it).
 */
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { hideHosts } from '../core/redact.js';
import { isS3Missing, s3Status } from './s3-client.js';

export interface S3HealthOptions {
  /** Time between probes (default 5 s). */
  intervalMs?: number;
  /** A probe not answered within this counts as a failure (default 3 s). */
  timeoutMs?: number;
}

/** What a failed S3 call says, without any address in it (/readyz is anonymous). */
function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  const status = s3Status(err);
  const parts = [e.code ?? e.name ?? 'Error', status ? `HTTP ${status}` : '', e.message && e.message !== 'UnknownError' ? e.message : ''];
  return hideHosts(parts.filter(Boolean).join(' ')).slice(0, 300);
}

export class S3Health {
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    opts: S3HealthOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 5_000;
    this.timeoutMs = opts.timeoutMs ?? 3_000;
  }

  /** Whether the last probe reached the bucket (true before the first: the store's start just did). */
  get up(): boolean {
    return this.lastError === undefined;
  }

  /** Why the node is not ready because of S3, or undefined when S3 answered the last probe. */
  reason(): string | undefined {
    return this.lastError === undefined ? undefined : `S3 unreachable (HeadBucket ${this.bucket}): ${this.lastError}`;
  }

  /** One probe now (concurrent callers share it). */
  probe(): Promise<void> {
    this.probing ??= this.client
      .send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: AbortSignal.timeout(this.timeoutMs) })
      .then(
        () => {
          this.lastError = undefined;
        },
        (err: unknown) => {
          this.lastError = describe(err);
        },
      )
      .finally(() => {
        this.probing = undefined;
      });
    return this.probing;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.probe(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Calls `onError(operation)` for every S3 request of this client that fails other than with "not found". */
export function countS3Errors(client: S3Client, onError: (op: string) => void): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (!isS3Missing(err)) onError(context.commandName ?? 'unknown');
        throw err;
      }
    },
    { step: 'initialize', name: 'larderS3ErrorCount' },
  );
}
