/**
 * npm registry signature checks: the keys document, and each version's
 * `dist.signatures` over `<name>@<version>:<integrity>` (good, tampered,
 * missing, by an unknown key, malformed, by a key expired before the
 * version's publish time).
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

test('a key with `expires` signs only versions published before then (time[version]; none: 2015-01-01, as npm)', () => {
  const expiring = (expires: unknown) =>
    parseKeys(
      Buffer.from(
        JSON.stringify({ keys: [{ expires, keyid: KEYID, key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') }] }),
      ),
    );
  const keys = expiring('2023-06-01T00:00:00.000Z');
  const name = 'foo';
  const signed = (v: string) => ({ dist: { integrity: INTEGRITY, signatures: [{ keyid: KEYID, sig: sig(`${name}@${v}:${INTEGRITY}`) }] } });
  const doc = {
    name,
    time: { '1.0.0': '2023-05-31T23:59:59.000Z', '2.0.0': '2023-06-01T00:00:00.000Z', '3.0.0': 'not a date' },
    versions: { '1.0.0': signed('1.0.0'), '2.0.0': signed('2.0.0'), '3.0.0': signed('3.0.0'), '0.1.0': signed('0.1.0') },
  };
  const problems = packumentProblems(doc, keys);
  assert.deepEqual([...problems.keys()].sort(), ['2.0.0', '3.0.0'], 'published at or after expiry, or at an unreadable time');
  assert.match(problems.get('2.0.0')!, /key that had expired when it was published/);
  // Without a publish time, npm assumes 2015-01-01: before this expiry, after an older one.
  assert.equal(signatureProblem(name, '0.1.0', signed('0.1.0').dist, keys), undefined);
  assert.match(signatureProblem(name, '0.1.0', signed('0.1.0').dist, expiring('2014-01-01T00:00:00.000Z')) ?? '', /had expired/);
  // `expires: null` never ends.
  assert.equal(signatureProblem(name, '2.0.0', signed('2.0.0').dist, expiring(null), '2030-01-01T00:00:00.000Z'), undefined);
  // A rotation: the version is also signed by the new key, which holds.
  const next = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rotated = new Map(keys);
  for (const [id, k] of parseKeys(
    Buffer.from(
      JSON.stringify({ keys: [{ keyid: 'SHA256:next', key: next.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') }] }),
    ),
  ))
    rotated.set(id, k);
  const both = {
    integrity: INTEGRITY,
    signatures: [
      { keyid: KEYID, sig: sig(`${name}@2.0.0:${INTEGRITY}`) },
      { keyid: 'SHA256:next', sig: sign('sha256', Buffer.from(`${name}@2.0.0:${INTEGRITY}`), next.privateKey).toString('base64') },
    ],
  };
  assert.equal(signatureProblem(name, '2.0.0', both, rotated, doc.time['2.0.0']), undefined);
});
