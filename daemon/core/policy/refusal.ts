/**
 * What every protocol's policy answers with: the refusal of a withheld
 * version (403 E_FORBIDDEN naming the policy, and when a held-back version
 * is allowed), and the ETag of a metadata form with versions left out.
 */
import { createHash } from 'node:crypto';
import { LarderError } from '../errors.js';
import { type Decision, SIGNATURE_ID } from './types.js';

/** The 403 for a withheld version, with `message` (the policy's sentence) and the policy that refused it. */
export function policyRefusal(message: string, d: Decision): LarderError {
  const policy = d.verdict === 'blocked' && d.id === SIGNATURE_ID ? 'npmSignatures' : 'blocklist';
  return new LarderError('E_FORBIDDEN', message, {
    status: 403,
    details: d.verdict === 'held' ? { policy: 'minAge', until: new Date(d.until).toISOString() } : { policy },
  });
}

/** The ETag of a form with versions withheld: the cached form's, marked with the withheld set (it changes as versions age in). */
export function withheldEtag(etag: string, withheld: ReadonlyMap<string, unknown>): string {
  const h = createHash('sha256')
    .update([...withheld.keys()].join('\n'))
    .digest('hex')
    .slice(0, 12);
  return `${etag.replace(/"$/, '')}-policy-${h}"`;
}
