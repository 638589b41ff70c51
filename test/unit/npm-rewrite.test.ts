/**
 * The full packument is made from the upstream's bytes with only the tarball
 * URLs replaced: it must parse to exactly what serialising the rewritten
 * document gives, whatever the upstream's whitespace and escapes, and fall
 * back to serialising when the bytes cannot be rewritten one for one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derivePackument } from '../../daemon/protocols/npm/packument.js';
import { rewriteTarballs } from '../../daemon/protocols/npm/rewrite.js';

const ctx = {
  name: 'demo',
  mirrorBase: 'http://127.0.0.1:7420/npm/',
  owns: (u: string) => u.startsWith('https://registry.example/'),
  conventional: (n: string, f: string) => `https://registry.example/${n}/-/${f}`,
};

function doc(tarball: (v: string) => string): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const v of ['1.0.0', '1.1.0', '2.0.0']) {
    versions[v] = {
      name: 'demo',
      version: v,
      readme: 'say "tarball": "https://x/y.tgz" in text',
      dist: { tarball: tarball(v), integrity: `sha512-${v}`, shasum: 'ab' },
    };
  }
  return { name: 'demo', 'dist-tags': { latest: '2.0.0' }, versions, other: { tarball: 'https://registry.example/not-a-dist.tgz' } };
}

const expected = (d: Record<string, unknown>): unknown => {
  const copy = structuredClone(d) as { versions: Record<string, { dist: { tarball: string } }> };
  for (const [v, m] of Object.entries(copy.versions)) m.dist.tarball = `${ctx.mirrorBase}demo/-/demo-${v}.tgz`;
  return copy;
};

test('compact, pretty-printed and slash-escaped packuments give the same full form as serialising them', () => {
  const d = doc((v) => `https://registry.example/demo/-/demo-${v}.tgz`);
  for (const raw of [
    Buffer.from(JSON.stringify(d)),
    Buffer.from(JSON.stringify(d, null, 2)),
    Buffer.from(JSON.stringify(d).replaceAll('/', '\\/')),
  ]) {
    const full = derivePackument(raw, ctx).variants.full!.body;
    assert.deepEqual(JSON.parse(full.toString()), expected(d));
    const abbrev = JSON.parse(derivePackument(raw, ctx).variants.abbrev!.body.toString()) as {
      versions: Record<string, { dist: { tarball: string } }>;
    };
    assert.equal(abbrev.versions['1.1.0']!.dist.tarball, `${ctx.mirrorBase}demo/-/demo-1.1.0.tgz`);
  }
});

test('the bytes are rewritten in place only when each rewrite matches exactly one member', () => {
  const raw = Buffer.from('{"a":{"tarball" : "https://h/x.tgz"},"b":{"tarball":"https://h/y.tgz"}}');
  assert.equal(
    rewriteTarballs(raw, new Map([['https://h/x.tgz', 'M']]))?.toString(),
    '{"a":{"tarball" : "M"},"b":{"tarball":"https://h/y.tgz"}}',
  );
  assert.equal(rewriteTarballs(raw, new Map([['https://h/z.tgz', 'M']])), undefined, 'a rewrite with no member');
  const twice = Buffer.from('{"a":{"tarball":"https://h/x.tgz"},"b":{"tarball":"https://h/x.tgz"}}');
  assert.equal(rewriteTarballs(twice, new Map([['https://h/x.tgz', 'M']])), undefined, 'one URL in two members');
  // Two versions naming one tarball URL: the full form is serialised, still with both rewritten.
  const shared = doc(() => 'https://registry.example/demo/-/demo-1.0.0.tgz');
  const full = JSON.parse(derivePackument(Buffer.from(JSON.stringify(shared)), ctx).variants.full!.body.toString()) as {
    versions: Record<string, { dist: { tarball: string } }>;
  };
  for (const m of Object.values(full.versions)) assert.equal(m.dist.tarball, `${ctx.mirrorBase}demo/-/demo-1.0.0.tgz`);
});
