/**
 * npm registry signature checks: the keys document, and each version's
 * `dist.signatures` over `<name>@<version>:<integrity>` (good, tampered,
 * missing, by an unknown key, malformed).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { packumentProblems, parseKeys, signatureProblem } from '../../daemon/protocols/npm/signatures.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEYID = 'SHA256:test';
const keysBody = Buffer.from(
  JSON.stringify({
    keys: [
      {
        expires: null,
        keyid: KEYID,
        keytype: 'ecdsa-sha2-nistp256',
        scheme: 'ecdsa-sha2-nistp256',
        key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      },
      { keyid: 'SHA256:junk', key: 'bm90IGEga2V5' },
    ],
  }),
);
const sig = (data: string) => sign('sha256', Buffer.from(data, 'utf8'), privateKey).toString('base64');
const INTEGRITY = 'sha512-abc';

test('parseKeys keeps the readable keys by keyid and refuses a body with none', () => {
  assert.deepEqual([...parseKeys(keysBody).keys()], [KEYID]);
  assert.throws(() => parseKeys(Buffer.from('{"keys":[]}')), /no usable key/);
  assert.throws(() => parseKeys(Buffer.from('not json')), /no usable key/);
});

test('a signature over name@version:integrity verifies; tampered, missing, unknown and malformed ones do not', () => {
  const keys = parseKeys(keysBody);
  const dist = (s: unknown) => ({ integrity: INTEGRITY, signatures: s });
  assert.equal(signatureProblem('foo', '1.0.0', dist([{ keyid: KEYID, sig: sig(`foo@1.0.0:${INTEGRITY}`) }]), keys), undefined);
  assert.match(
    signatureProblem('foo', '1.0.1', dist([{ keyid: KEYID, sig: sig(`foo@1.0.0:${INTEGRITY}`) }]), keys) ?? '',
    /invalid registry signature/,
  );
  assert.match(signatureProblem('foo', '1.0.0', { integrity: INTEGRITY }, keys) ?? '', /no registry signature/);
  assert.match(signatureProblem('foo', '1.0.0', dist([]), keys) ?? '', /no registry signature/);
  assert.match(
    signatureProblem('foo', '1.0.0', dist([{ keyid: 'SHA256:other', sig: sig(`foo@1.0.0:${INTEGRITY}`) }]), keys) ?? '',
    /no key the registry lists/,
  );
  assert.match(signatureProblem('foo', '1.0.0', dist([{ keyid: KEYID, sig: 'AAAA' }]), keys) ?? '', /invalid registry signature/);
  assert.match(signatureProblem('foo', '1.0.0', { signatures: [] }, keys) ?? '', /no dist.integrity/);
});

test('packumentProblems lists the failing versions of a scoped packument', () => {
  const keys = parseKeys(keysBody);
  const name = '@s/foo';
  const doc = {
    name,
    versions: {
      '1.0.0': { dist: { integrity: INTEGRITY, signatures: [{ keyid: KEYID, sig: sig(`${name}@1.0.0:${INTEGRITY}`) }] } },
      '2.0.0': { dist: { integrity: INTEGRITY } },
    },
  };
  assert.deepEqual([...packumentProblems(doc, keys).keys()], ['2.0.0']);
});
