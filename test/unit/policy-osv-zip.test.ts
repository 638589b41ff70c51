/**
 * OSV records from a zip (as osv.dev exports an ecosystem: a flat zip of
 * JSON records), read by the daemon's own zip reader: archives made by
 * Python's zipfile (deflated and stored entries, a folder entry, a
 * non-JSON entry), a damaged archive refused, and `larder policy
 * import-osv` taking a zip.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32, deflateRawSync } from 'node:zlib';
import { policyCommand } from '../../daemon/cli/policy.js';
import { validateConfig } from '../../daemon/config/load.js';
import { Blocklist } from '../../daemon/core/policy/index.js';
import { readZip } from '../../daemon/core/policy/zip.js';

const record = (id: string, name: string, versions: string[]) => ({
  id,
  summary: `malware in ${name}`,
  affected: [{ package: { ecosystem: 'npm', name }, versions }],
});

/** Writes a zip of `files` with Python's zipfile (deflated, except names ending in .stored.json). */
function makeZip(path: string, files: Record<string, string>): void {
  const script =
    'import json,sys,zipfile\n' +
    'files=json.loads(sys.argv[2])\n' +
    'with zipfile.ZipFile(sys.argv[1],"w") as z:\n' +
    '  z.writestr(zipfile.ZipInfo("osv/"),"")\n' +
    '  for n,t in files.items(): z.writestr(n,t,zipfile.ZIP_STORED if n.endswith(".stored.json") else zipfile.ZIP_DEFLATED)\n';
  execFileSync('python3', ['-c', script, path, JSON.stringify(files)]);
}

test('a zip of OSV records loads into the blocklist; a damaged one is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'larder-osv-zip-'));
  const zip = join(dir, 'all.zip');
  const big = JSON.stringify({ ...record('MAL-2026-11', 'evil', ['1.0.0']), details: 'x'.repeat(100_000) });
  makeZip(zip, {
    'osv/MAL-2026-11.json': big,
    'osv/MAL-2026-12.stored.json': JSON.stringify(record('MAL-2026-12', 'worse', ['2.0.0'])),
    'README.txt': 'not a record',
  });
  const entries = readZip(readFileSync(zip), zip);
  assert.deepEqual(entries.map((e) => e.name).sort(), ['README.txt', 'osv/MAL-2026-11.json', 'osv/MAL-2026-12.stored.json']);
  assert.equal(entries.find((e) => e.name.endsWith('11.json'))?.data.toString(), big);
  const bl = new Blocklist();
  assert.equal(bl.loadPath(zip), 2);
  assert.equal(bl.match('npm', 'evil', '1.0.0')?.id, 'MAL-2026-11');
  assert.equal(bl.match('npm', 'worse', '2.0.0')?.id, 'MAL-2026-12');
  // A folder's zips are read along with its JSON files.
  assert.equal(new Blocklist().loadFolder(dir), 2);

  const damaged = readFileSync(zip);
  const at = damaged.indexOf('MAL-2026-11.json') + 200; // inside the first entry's compressed bytes
  damaged[at] = damaged[at]! ^ 0xff;
  writeFileSync(join(dir, 'damaged.zip'), damaged);
  assert.throws(
    () => new Blocklist().loadPath(join(dir, 'damaged.zip')),
    /damaged\.zip: not a zip archive Larder reads \(osv\/MAL-2026-11\.json (does not inflate|does not match its CRC-32)/,
  );
  assert.throws(() => readZip(Buffer.from('not a zip at all'), 'x.zip'), /no end of central directory/);
});

test('policy import-osv takes a zip', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'larder-osv-zip-cli-'));
  const zip = join(dir, 'npm.zip');
  makeZip(zip, {
    'MAL-2026-21.json': JSON.stringify(record('MAL-2026-21', 'evil', ['1.0.0'])),
    'GHSA-xxxx-yyyy-zzzz.json': JSON.stringify(record('GHSA-xxxx-yyyy-zzzz', 'other', ['1.0.0'])),
  });
  const to = join(dir, 'blocklist');
  const written: string[] = [];
  const cfg = validateConfig({ policy: { blocklist: { osv: to } } }, 'test');
  assert.equal(await policyCommand(cfg, ['import-osv', zip], { json: true }, (s) => written.push(s)), 0);
  assert.deepEqual(JSON.parse(written.join('')), { imported: 1, skipped: 1, folder: to });
  assert.deepEqual(readdirSync(to), ['MAL-2026-21.json']);
  const zipped = validateConfig({ policy: { blocklist: { osv: zip } } }, 'test');
  await assert.rejects(policyCommand(zipped, ['import-osv', zip], {}), /is a zip: replace it, or import into a folder with --to DIR/);
});

/** A zip whose central directory names one deflated 60 MiB entry `copies` times (each pointing at the same data). */
function sharedDataZip(copies: number): Buffer {
  const size = 60 * 1024 * 1024;
  const data = Buffer.alloc(size);
  const packed = deflateRawSync(data);
  const crc = crc32(data);
  const local = Buffer.alloc(30 + 5);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(size, 22);
  local.writeUInt16LE(5, 26);
  local.write('a.bin', 30);
  const centrals: Buffer[] = [];
  for (let i = 0; i < copies; i++) {
    const name = `copy${i}.json`;
    const c = Buffer.alloc(46 + name.length);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(packed.length, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(0, 42);
    c.write(name, 46);
    centrals.push(c);
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(copies, 8);
  end.writeUInt16LE(copies, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(local.length + packed.length, 16);
  return Buffer.concat([local, packed, dir, end]);
}

test('a zip whose entries share one compressed body is refused past 512 MiB inflated in all', () => {
  const two = readZip(sharedDataZip(2), 'two.zip');
  assert.equal(two.length, 2, 'a few shared entries are still read');
  assert.throws(() => readZip(sharedDataZip(9), 'bomb.zip'), /bomb\.zip: not a zip archive Larder reads \(it inflates to more than/);
});
