import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PolicySchema, policySettings } from '../../daemon/config/policy.js';
import { Blocklist, compareVersions, inRange, Policy, POLICY_OFF } from '../../daemon/core/policy/index.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T00:00:00Z');
const clock = { now: () => NOW };

function policy(yaml: unknown, records: unknown[] = []): Policy {
  const cfg = PolicySchema.parse(yaml);
  const bl = new Blocklist(cfg.blocklist.ids);
  for (const r of records) bl.add(r, 'test');
  return new Policy(policySettings(cfg), bl, clock);
}

const mal = (id: string, name: string, affected: Record<string, unknown>, ecosystem = 'npm') => ({
  id,
  summary: `Malicious code in ${name}`,
  affected: [{ package: { ecosystem, name }, ...affected }],
});

test('the age gate holds back versions younger than minAge and says until when', () => {
  const p = policy({ minAge: '7d' });
  const q = { protocol: 'npm', remote: 'npmjs', name: 'foo' };
  assert.deepEqual(p.decide({ ...q, version: '1.0.0', published: NOW - 30 * DAY }), { verdict: 'allowed' });
  const held = p.decide({ ...q, version: '3.0.0', published: NOW - 2 * DAY });
  assert.deepEqual(held, { verdict: 'held', minAgeMs: 7 * DAY, published: NOW - 2 * DAY, until: NOW + 5 * DAY });
  const msg = p.explain({ name: 'foo', version: '3.0.0' }, held);
  assert.match(msg, /foo@3\.0\.0 is held back by the Larder policy minAge 7d/);
  assert.match(msg, new RegExp(`allowed from ${new Date(NOW + 5 * DAY).toISOString()}`));
  assert.deepEqual(p.decide({ ...q, version: '4.0.0' }), { verdict: 'allowed', because: 'no-publish-time' });
  assert.equal(p.minAgeMs('npm', 'npmjs', 'foo'), 7 * DAY);
});

test('no policy allows everything; the default config is off', () => {
  const p = new Policy(POLICY_OFF, new Blocklist(), clock);
  assert.deepEqual(p.decide({ protocol: 'npm', remote: 'r', name: 'a', version: '1.0.0', published: NOW }), { verdict: 'allowed' });
  assert.deepEqual(policySettings(PolicySchema.parse({})), POLICY_OFF);
});

test('pins and excluded names pass the age gate; per-remote overrides win', () => {
  const p = policy({ minAge: '3d', exclude: ['@corp/*', 'npm:left-pad', 'pypi:requests'], remotes: { internal: { minAge: 0 } } });
  const young = { remote: 'npmjs', version: '1.0.0', published: NOW - DAY };
  assert.equal(p.decide({ ...young, protocol: 'npm', name: 'foo', pinned: true }).verdict, 'allowed');
  assert.deepEqual(p.decide({ ...young, protocol: 'npm', name: 'foo', pinned: true }), { verdict: 'allowed', because: 'pinned' });
  assert.equal(p.decide({ ...young, protocol: 'npm', name: '@corp/x' }).verdict, 'allowed');
  assert.equal(p.decide({ ...young, protocol: 'npm', name: '@corpx/x' }).verdict, 'held');
  assert.equal(p.decide({ ...young, protocol: 'npm', name: 'left-pad' }).verdict, 'allowed');
  assert.equal(p.decide({ ...young, protocol: 'pypi', name: 'left-pad' }).verdict, 'held', 'npm: narrows to npm');
  assert.equal(p.decide({ ...young, protocol: 'npm', name: 'requests' }).verdict, 'held');
  assert.equal(p.decide({ ...young, protocol: 'npm', name: 'foo', remote: 'internal' }).verdict, 'allowed');
  assert.equal(p.minAgeMs('npm', 'internal', 'foo'), 0);
  p.pinnedBy = (ref) => ref === 'npm:foo@1.0.0';
  assert.equal(p.decide({ ...young, protocol: 'npm', name: 'foo' }).verdict, 'allowed', 'the pin lookup is asked');
  assert.equal(p.decide({ ...young, protocol: 'npm', name: 'foo', version: '1.0.1' }).verdict, 'held');
});

test('the blocklist binds exact versions and ranges, pinned or old, and only MAL- records by default', () => {
  const p = policy({ minAge: '3d' }, [
    mal('MAL-2026-1', 'evil', { versions: ['1.0.1'] }),
    mal('MAL-2026-2', 'worse', { ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }),
    mal('MAL-2026-3', 'ranged', { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.0.0' }, { fixed: '2.1.0' }] }] }),
    mal('MAL-2026-4', 'Bad_Pkg', { versions: ['0.1'] }, 'PyPI'),
    mal('GHSA-xxxx-yyyy-zzzz', 'vuln', { versions: ['1.0.0'] }),
  ]);
  const eco: Record<string, string> = { npm: 'npm', pypi: 'PyPI' };
  const d = (protocol: string, name: string, version: string) =>
    p.decide({ protocol, ecosystem: eco[protocol], remote: 'r', name, version, published: NOW - 100 * DAY, pinned: true }).verdict;
  assert.equal(d('npm', 'evil', '1.0.1'), 'blocked');
  assert.equal(d('npm', 'evil', '1.0.0'), 'allowed');
  assert.equal(d('npm', 'worse', '9.9.9'), 'blocked');
  assert.equal(d('npm', 'ranged', '2.0.5'), 'blocked');
  assert.equal(d('npm', 'ranged', '2.1.0'), 'allowed');
  assert.equal(d('npm', 'ranged', '1.9.9'), 'allowed');
  assert.equal(d('pypi', 'bad-pkg', '0.1'), 'blocked', 'PyPI names are normalised');
  assert.equal(d('npm', 'bad-pkg', '0.1'), 'allowed', 'per ecosystem');
  assert.equal(d('npm', 'vuln', '1.0.0'), 'allowed', 'GHSA is not opted into');
  const blocked = p.decide({ protocol: 'npm', ecosystem: 'npm', remote: 'r', name: 'evil', version: '1.0.1' });
  assert.match(
    p.explain({ name: 'evil', version: '1.0.1' }, blocked),
    /evil@1\.0\.1 is blocked by the Larder policy blocklist: MAL-2026-1/,
  );
  assert.equal(p.listed('npm', 'evil'), true);
  assert.equal(p.listed('npm', 'foo'), false);
});

test('onBlocked: warn serves the version with a warning, and counts it', () => {
  const p = policy({ onBlocked: 'warn', remotes: { strict: { onBlocked: 'refuse' } } }, [mal('MAL-1', 'evil', { versions: ['1.0.0'] })]);
  const q = { protocol: 'npm', ecosystem: 'npm', name: 'evil', version: '1.0.0' };
  const warned = p.decide({ ...q, remote: 'r' });
  assert.deepEqual(warned, { verdict: 'allowed', warning: 'MAL-1' });
  assert.equal(p.decide({ ...q, remote: 'strict' }).verdict, 'blocked');
  p.count('r', warned);
  p.count('strict', p.decide({ ...q, remote: 'strict' }));
  p.count('r', { verdict: 'allowed' });
  assert.deepEqual(p.counts(), [
    { remote: 'r', reason: 'warned', count: 1 },
    { remote: 'strict', reason: 'blocked', count: 1 },
  ]);
});

test('OSV records are read from a folder (one record or an array per file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osv-'));
  writeFileSync(join(dir, 'a.json'), JSON.stringify(mal('MAL-A', 'a', { versions: ['1.0.0'] })));
  writeFileSync(join(dir, 'b.json'), JSON.stringify([mal('MAL-B', 'b', { versions: ['1.0.0'] }), mal('OSV-C', 'c', { versions: ['1'] })]));
  writeFileSync(join(dir, 'notes.txt'), 'ignored');
  const bl = new Blocklist();
  assert.equal(bl.loadFolder(dir), 2);
  assert.equal(bl.match('npm', 'b', '1.0.0')?.id, 'MAL-B');
  assert.equal(bl.loadFolder(join(dir, 'missing')), 0);
  assert.throws(() => bl.add({ id: 'MAL-X' }, 'x.json'), /expected an OSV record/);
});

test('versions order as SemVer, Go and PyPI/RubyGems do', () => {
  assert.ok(compareVersions('1.10.0', '1.9.0') > 0);
  assert.ok(compareVersions('1.0.0-beta.2', '1.0.0-beta.10') < 0);
  assert.ok(compareVersions('1.0.0-rc.1', '1.0.0') < 0);
  assert.ok(compareVersions('v1.2.3', '1.2.3') === 0);
  assert.ok(compareVersions('2.0rc1', '2.0') < 0);
  assert.ok(compareVersions('1.0.0.pre', '1.0.0') < 0);
  assert.equal(inRange('1.5.0', [{ introduced: '1.0.0' }, { last_affected: '1.5.0' }]), true);
  assert.equal(inRange('1.5.1', [{ introduced: '1.0.0' }, { last_affected: '1.5.0' }]), false);
  assert.equal(inRange('3.0.0', [{ introduced: '0' }, { fixed: '2.0.0' }, { introduced: '2.5.0' }]), true);
});
