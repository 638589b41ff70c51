import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { policyCommand } from '../../daemon/cli/policy.js';
import { validateConfig } from '../../daemon/config/load.js';
import { Blocklist } from '../../daemon/core/policy/index.js';

const record = (id: string, name: string, versions: string[]) => ({ id, affected: [{ package: { ecosystem: 'npm', name }, versions }] });

test('policy import-osv writes the MAL- records of files and folders into the blocklist folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'larder-osv-cli-'));
  const src = join(dir, 'src');
  const to = join(dir, 'blocklist');
  writeFileSync(join(dir, 'one.json'), JSON.stringify(record('MAL-2026-1', 'evil', ['1.0.0'])));
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, 'many.json'),
    JSON.stringify([record('MAL-2026-2', 'worse', ['2.0.0']), record('GHSA-aaaa-bbbb-cccc', 'x', ['1'])]),
  );
  const cfg = validateConfig({ policy: { blocklist: { osv: to } } }, 'test');
  const written: string[] = [];
  assert.equal(await policyCommand(cfg, ['import-osv', join(dir, 'one.json'), src], { json: true }, (s) => written.push(s)), 0);
  assert.deepEqual(JSON.parse(written.join('')), { imported: 2, skipped: 1, folder: to });
  assert.deepEqual(readdirSync(to).sort(), ['MAL-2026-1.json', 'MAL-2026-2.json']);
  const bl = new Blocklist();
  assert.equal(bl.loadFolder(to), 2);
  assert.equal(bl.match('npm', 'worse', '2.0.0')?.id, 'MAL-2026-2');
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ id: 'MAL-3' }));
  await assert.rejects(policyCommand(cfg, ['import-osv', join(dir, 'bad.json')], {}), /expected an OSV record/);
  await assert.rejects(policyCommand(validateConfig({}, 't'), ['import-osv', src], {}), /no blocklist folder/);
});
