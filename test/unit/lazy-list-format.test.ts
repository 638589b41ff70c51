/**
 * `larder serve` defers ICU's list-format data (daemon/cli/lazy-list-format.ts):
 * importing got, whose type checker builds two `Intl.ListFormat`s at import,
 * must not map the binary's ICU data, and the formatters must still format
 * exactly as the real ones do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { lazyListFormat } from '../../daemon/cli/lazy-list-format.js';
import { runModuleProbe } from '../helpers/module-probe.js';

const SHIM = fileURLToPath(new URL('../../daemon/cli/lazy-list-format.ts', import.meta.url));

// File-backed resident memory (the node binary's pages, ICU data among them) gained by importing got.
const PROBE = `
import { readFileSync } from 'node:fs';
const rssFile = () => Number(/RssFile:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
if (process.env.SHIM === '1') (await import(${JSON.stringify(SHIM)})).deferListFormatData({});
const before = rssFile();
await import('got');
const grewMb = (rssFile() - before) / 1048576;
const text = new Intl.ListFormat('en', { type: 'disjunction' }).format(['a', 'b', 'c']);
console.log(JSON.stringify({ grewMb, text }));
`;

function probe(shim: boolean): Promise<{ grewMb: number; text: string }> {
  return runModuleProbe(PROBE, { SHIM: shim ? '1' : '0' });
}

test('importing got maps ~4 MB of ICU data without the shim and not with it', { skip: process.platform !== 'linux' }, async () => {
  const [plain, shimmed] = await Promise.all([probe(false), probe(true)]);
  assert.ok(plain.grewMb - shimmed.grewMb >= 2, `the shim saves the ICU pages (file-backed RSS +${plain.grewMb.toFixed(1)} MB without, +${shimmed.grewMb.toFixed(1)} MB with)`);
  assert.equal(shimmed.text, 'a, b, or c');
  assert.equal(plain.text, shimmed.text);
});

test('a lazy formatter formats, lists parts and resolves options as the real one does', () => {
  const Lazy = lazyListFormat(Intl.ListFormat);
  const args = ['en', { style: 'long', type: 'conjunction' }] as const;
  const lazy = new Lazy(...args);
  const real = new Intl.ListFormat(...args);
  const list = ['red', 'green', 'blue'];
  assert.equal(lazy.format(list), real.format(list));
  assert.deepEqual(lazy.formatToParts(list), real.formatToParts(list));
  assert.deepEqual(lazy.resolvedOptions(), real.resolvedOptions());
  assert.deepEqual(Lazy.supportedLocalesOf(['en', 'de']), Intl.ListFormat.supportedLocalesOf(['en', 'de']));
  // An invalid option throws on first use instead of at construction.
  const bad = new Lazy('en', { type: 'nonsense' as 'unit' });
  assert.throws(() => bad.format(['x']), RangeError);
});
