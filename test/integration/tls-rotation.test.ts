/**
 * Certificate rotation without a restart: the daemon watches its `tls`
 * files; after they are replaced, a new connection gets the new certificate
 * (told apart by its serial) while the daemon keeps serving. Files that do
 * not form a usable pair are refused and the previous certificate stays.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { Writable } from 'node:stream';
import { validateConfig } from '../../daemon/config/load.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type RunningDaemon } from '../../daemon/main.js';
import { tempDir } from '../helpers/daemon.js';
import { until } from '../helpers/edge-chain.js';
import { issueServerCert, makeCa, type TestCa } from '../helpers/tls.js';

let work = '';
let ca: TestCa;
let daemon: RunningDaemon;
const logged: string[] = [];
let certFile = '';
let keyFile = '';

/** The serial of the certificate a new TLS connection to the daemon is given (verified against the CA). */
async function servedSerial(): Promise<string> {
  const caPem = await readFile(ca.caCert);
  return new Promise<string>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: daemon.port, ca: caPem, servername: 'localhost' }, () => {
      const serial = s.getPeerX509Certificate()?.serialNumber ?? '';
      s.end();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

/** Puts a certificate in place the way deployment tools do: write beside, then rename over. */
async function install(from: { cert: string; key: string }): Promise<void> {
  await copyFile(from.key, `${keyFile}.new`);
  await copyFile(from.cert, `${certFile}.new`);
  await rename(`${keyFile}.new`, keyFile);
  await rename(`${certFile}.new`, certFile);
}

before(async () => {
  work = await tempDir('larder-tls-rot-');
  ca = await makeCa(work);
  const first = await issueServerCert(ca, 'first', 0x11);
  certFile = join(work, 'live.pem');
  keyFile = join(work, 'live.key');
  await copyFile(first.cert, certFile);
  await copyFile(first.key, keyFile);
  const cfg = validateConfig({ listen: '127.0.0.1:0', dataDir: join(work, 'data'), tls: { cert: certFile, key: keyFile } }, 'test');
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logged.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  daemon = await startDaemon(cfg, { log: createLogger('info', dest) });
});

after(async () => {
  await daemon?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test('replaced certificate files are served to new connections', async () => {
  assert.equal(await servedSerial(), '11');
  const second = await issueServerCert(ca, 'second', 0x22);
  await install(second);
  await until('the new certificate to be served', async () => ((await servedSerial()) === '22' ? true : undefined), 15_000);
});

test('unusable files are refused and the previous certificate stays in use', async () => {
  const before = await servedSerial();
  const third = await issueServerCert(ca, 'third', 0x33);
  // A certificate whose key does not match it, then garbage: neither may replace the working pair.
  const refusals = (): number => logged.filter((l) => l.includes('keeping the previous ones')).length;
  await copyFile(third.cert, certFile);
  await until('the mismatched pair to be refused', async () => (refusals() >= 1 ? true : undefined), 15_000);
  assert.equal(await servedSerial(), before);
  await writeFile(certFile, 'not a certificate');
  await until('the garbage to be refused', async () => (refusals() >= 2 ? true : undefined), 15_000);
  assert.equal(await servedSerial(), before);
  // The matching key arrives: the pair is installed.
  await install(third);
  await until('the third certificate to be served', async () => ((await servedSerial()) === '33' ? true : undefined), 15_000);
});
