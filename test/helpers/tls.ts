/**
 * A throw-away certificate authority for the TLS tests, made with the real
 * openssl: a CA, and server certificates it signs for 127.0.0.1 and
 * localhost (subjectAltName), each with a serial chosen by the test so a
 * rotation can be told apart on the wire.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM file) clients trust. */
  caCert: string;
  caKey: string;
}

export interface ServerCert {
  cert: string;
  key: string;
  /** Upper-case hex, as `X509Certificate.serialNumber` prints it. */
  serial: string;
}

export async function makeCa(dir: string): Promise<TestCa> {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  await run('openssl', ['genrsa', '-out', caKey, '2048']);
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=Larder Test CA',
    '-out',
    caCert,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { dir, caCert, caKey };
}

/** A server certificate for 127.0.0.1/localhost signed by `ca`, written to `<name>.pem` / `<name>.key`. */
export async function issueServerCert(ca: TestCa, name: string, serial: number): Promise<ServerCert> {
  const key = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const cert = join(ca.dir, `${name}.pem`);
  const ext = join(ca.dir, `${name}.ext`);
  await writeFile(
    ext,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
  );
  await run('openssl', ['genrsa', '-out', key, '2048']);
  await run('openssl', ['req', '-new', '-key', key, '-subj', '/CN=localhost', '-out', csr]);
  const hex = serial.toString(16).toUpperCase().padStart(2, '0');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.caCert,
    '-CAkey',
    ca.caKey,
    '-set_serial',
    `0x${hex}`,
    '-days',
    '2',
    '-sha256',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key, serial: hex };
}
