/**
 * The Hub's error format: a JSON body `{"error": "…"}` with the kind in
 * `X-Error-Code` (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo)
 * and the message in `X-Error-Message`. Clients branch on the code: the JS
 * client's `downloadFile` answers null for a 404 with `EntryNotFound`, and
 * huggingface_hub raises GatedRepoError, RepositoryNotFoundError… by it.
 */
import { LarderError, type ErrorCode } from '../../core/errors.js';
import type { RenderedError } from '../adapter.js';

export type HubErrorCode = 'RepoNotFound' | 'RevisionNotFound' | 'EntryNotFound' | 'GatedRepo';

const LARDER_CODE: Record<HubErrorCode, ErrorCode> = {
  RepoNotFound: 'E_NOT_FOUND',
  RevisionNotFound: 'E_NOT_FOUND',
  EntryNotFound: 'E_NOT_FOUND',
  GatedRepo: 'E_UNAUTHORIZED',
};

/** An error the Hub's clients recognise by its `X-Error-Code`. */
export function hubError(code: HubErrorCode, message: string, status?: number): LarderError {
  return new LarderError(LARDER_CODE[code], message, { details: { hubCode: code }, ...(status === undefined ? {} : { status }) });
}

/** The Hub code of an error, when it carries one. */
export function hubCode(err: LarderError): HubErrorCode | undefined {
  const c = err.details.hubCode;
  return typeof c === 'string' && Object.hasOwn(LARDER_CODE, c) ? (c as HubErrorCode) : undefined;
}

/** Whether an error says the repository is gated for the request's credentials. */
export function isGated(err: unknown): boolean {
  return err instanceof LarderError && hubCode(err) === 'GatedRepo';
}

export function renderHubError(err: LarderError): RenderedError {
  const message = err.expose ? err.message : 'internal error';
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'x-larder-error': err.code };
  const code = hubCode(err);
  if (code) headers['x-error-code'] = code;
  // Header values must be Latin-1 and one line.
  headers['x-error-message'] = message.replace(/[^\u0020-\u007e]/g, '?').slice(0, 300);
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  return { status: err.status, headers, body: Buffer.from(JSON.stringify({ error: message })) };
}
