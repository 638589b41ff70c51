/**
 * NpmWarmer.resolve: an exact version, a dist-tag, and a range (the latest
 * when it satisfies, else the highest match; semver is loaded on the first
 * range), and a spec that is none of those is a 400.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NpmAdapter } from '../../daemon/protocols/npm/adapter.js';
import { npmRefs } from '../../daemon/protocols/npm/ref.js';
import { NpmWarmer } from '../../daemon/protocols/npm/warmer.js';

const doc = {
  'dist-tags': { latest: '1.2.0', next: '2.0.0-beta.1' },
  versions: Object.fromEntries(
    ['1.0.0', '1.2.0', '1.3.0', '2.0.0-beta.1'].map((v) => [v, { version: v, dist: { tarball: `x-${v}.tgz` } }]),
  ),
};
const fake = { docs: { document: async () => undefined, fullDoc: async () => ({ doc }) } } as unknown as NpmAdapter;
const resolve = (spec: string) => new NpmWarmer(fake).resolve(npmRefs.parse(`x@${spec}`, `npm:x@${spec}`));

test('exact versions, dist-tags and ranges resolve', async () => {
  assert.equal(await resolve('1.0.0'), '1.0.0');
  assert.equal(await resolve('next'), '2.0.0-beta.1');
  assert.equal(await resolve('^1.1.0'), '1.2.0', 'the latest, when it satisfies the range');
  assert.equal(await resolve('>=1.2.1 <2'), '1.3.0', 'else the highest version that does');
  await assert.rejects(resolve('^3'), /no matching version/);
  await assert.rejects(resolve('not a range!'), (err: Error & { code?: string }) => err.code === 'E_BAD_REQUEST');
});
