/**
 * Bundle signatures (Ed25519, node:crypto). The signing key lives in the
 * data directory (`bundle-signing.key`, PKCS#8 PEM, mode 0600), created the
 * first time a bundle is exported with `sign`. A public key is written
 * `ed25519:<base64 of the 32 raw bytes>`, the form `bundles.trustedKeys`
 * lists. What is signed is the sha256 of the manifest's bytes (the manifest
 * is streamed, so it is never held whole to be signed or checked):
 *
 *   manifest.sig = {"alg":"ed25519","key":"ed25519:…","manifestSha256":"<hex>","signature":"<base64>"}
 *   signed message = "larder-bundle-manifest\n" + <hex>
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LarderError } from '../core/errors.js';

export const SIGNATURE_NAME = 'manifest.sig';
export const KEY_FILE = 'bundle-signing.key';
/** The largest manifest.sig read. */
export const MAX_SIGNATURE_BYTES = 64 * 1024;
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_FORM = /^ed25519:([A-Za-z0-9+/]{43}=)$/;

export interface SigningKey {
  privateKey: KeyObject;
  /** `ed25519:<base64>` */
  publicKey: string;
}

interface SignatureDoc {
  alg: 'ed25519';
  key: string;
  manifestSha256: string;
  signature: string;
}

/** `ed25519:<base64>` of a public (or private) Ed25519 key. */
export function publicKeyString(key: KeyObject): string {
  const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return `ed25519:${der.subarray(SPKI_ED25519_PREFIX.length).toString('base64')}`;
}

function publicKeyObject(text: string): KeyObject | undefined {
  const m = KEY_FORM.exec(text);
  if (!m) return undefined;
  const raw = Buffer.from(m[1]!, 'base64');
  if (raw.length !== 32) return undefined;
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The data directory's signing key; created (0600) when absent and `create` is set. */
export async function loadSigningKey(dataDir: string, create: boolean): Promise<SigningKey | undefined> {
  const file = join(dataDir, KEY_FILE);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create) {
      if (!create) return undefined;
      throw err;
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      pem = await readFile(file, 'utf8'); // another process made it first
    }
  }
  await chmod(file, 0o600);
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new LarderError('E_CONFIG', `${file} is not an Ed25519 private key`);
  return { privateKey, publicKey: publicKeyString(privateKey) };
}

const message = (sha256hex: string): Buffer => Buffer.from(`larder-bundle-manifest\n${sha256hex}`);

/** The body of manifest.sig for a manifest whose bytes hash to `sha256hex`. */
export function signatureFor(key: SigningKey, sha256hex: string): Buffer {
  const doc: SignatureDoc = {
    alg: 'ed25519',
    key: key.publicKey,
    manifestSha256: sha256hex,
    signature: sign(null, message(sha256hex), key.privateKey).toString('base64'),
  };
  return Buffer.from(`${JSON.stringify(doc)}\n`);
}

export interface SignatureCheck {
  /** Keys whose signatures are accepted. */
  trustedKeys: readonly string[];
  /** Accept a bundle with no signature, or one signed by a key not trusted (a broken signature is still refused). */
  allowUnsigned: boolean;
}

/**
 * Checks manifest.sig (or its absence) against the manifest's sha256;
 * returns the signer's key, or 'unsigned'. Throws E_BUNDLE_UNSIGNED,
 * E_BUNDLE_SIGNATURE or E_BUNDLE_UNTRUSTED.
 */
export function checkSignature(body: Buffer | undefined, sha256hex: string, c: SignatureCheck): string {
  if (!body) {
    if (c.allowUnsigned) return 'unsigned';
    throw new LarderError('E_BUNDLE_UNSIGNED', 'the bundle is not signed; export it with --sign, or import it with --allow-unsigned');
  }
  const broken = (why: string): LarderError =>
    new LarderError('E_BUNDLE_SIGNATURE', `the bundle's signature is not valid: ${why}; nothing was imported`);
  let doc: Partial<SignatureDoc>;
  try {
    doc = JSON.parse(body.toString('utf8')) as Partial<SignatureDoc>;
  } catch {
    throw broken(`${SIGNATURE_NAME} is not JSON`);
  }
  const key = typeof doc.key === 'string' ? publicKeyObject(doc.key) : undefined;
  if (doc.alg !== 'ed25519' || !key || typeof doc.signature !== 'string') throw broken(`${SIGNATURE_NAME} is malformed`);
  if (doc.manifestSha256 !== sha256hex) throw broken('the manifest was changed after it was signed');
  if (!verify(null, message(sha256hex), key, Buffer.from(doc.signature, 'base64'))) throw broken('the signature does not verify');
  const signer = doc.key!;
  if (!c.trustedKeys.includes(signer) && !c.allowUnsigned)
    throw new LarderError(
      'E_BUNDLE_UNTRUSTED',
      `the bundle is signed by ${signer}, which bundles.trustedKeys does not list; add it there to trust it`,
    );
  return signer;
}
