import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LarderError } from '../../daemon/core/errors.js';
import { imageRef } from '../../daemon/protocols/oci/ref.js';
import { planFile } from '../../daemon/prewarm/lockfiles.js';
import { isMutable, parseRef } from '../../daemon/prewarm/refs.js';

const badRef = (input: string, fragment: string) =>
  assert.throws(
    () => parseRef(input),
    (e: unknown) => e instanceof LarderError && e.code === 'E_BAD_REQUEST' && e.message.includes(fragment),
  );

test('reference grammar parses every protocol', () => {
  assert.deepEqual(parseRef('npm:@corp/ui@^2.1.0'), { protocol: 'npm', raw: 'npm:@corp/ui@^2.1.0', name: '@corp/ui', spec: '^2.1.0' });
  const oci = parseRef('oci:docker.io/library/alpine:3.20 linux/arm64');
  assert.equal(oci.protocol, 'oci');
  assert.deepEqual(oci, {
    protocol: 'oci',
    raw: 'oci:docker.io/library/alpine:3.20 linux/arm64',
    host: 'docker.io',
    repo: 'library/alpine',
    tag: '3.20',
    platform: 'linux/arm64',
  });
  const byDigest = parseRef(`oci:127.0.0.1:5000/app@sha256:${'a'.repeat(64)}`);
  assert.equal(isMutable(byDigest), false);
  assert.equal(isMutable(oci), true);
  assert.equal(isMutable(parseRef('npm:left-pad@1.3.0')), false);
  assert.equal(isMutable(parseRef('npm:left-pad@latest')), true);
  assert.deepEqual(parseRef('pypi:Django==4.2.1'), { protocol: 'pypi', raw: 'pypi:Django==4.2.1', name: 'Django', version: '4.2.1' });
  assert.deepEqual(parseRef('go:github.com/Azure/go-x@v1.2.3'), {
    protocol: 'go',
    raw: 'go:github.com/Azure/go-x@v1.2.3',
    module: 'github.com/Azure/go-x',
    version: 'v1.2.3',
  });
  assert.deepEqual(parseRef('url:central/org/x/1.0/x-1.0.jar'), {
    protocol: 'url',
    raw: 'url:central/org/x/1.0/x-1.0.jar',
    remote: 'central',
    path: 'org/x/1.0/x-1.0.jar',
  });
});

test('reference errors name the reference and say what is wrong', () => {
  badRef('left-pad@1.0.0', 'expected a protocol prefix');
  badRef('npm:left-pad', 'expected npm:<name>@');
  badRef('npm:Bad Name@1', 'not a valid npm package name');
  badRef('oci:alpine:3', 'expected oci:<host>/<repo>');
  badRef('oci:docker.io/library/alpine', 'expected a :tag or @digest');
  badRef('oci:docker.io/library/alpine@sha256:abc', 'is not a sha256 digest');
  badRef('oci:docker.io/Library/alpine:3', 'not a valid repository name');
  badRef('pypi:django>=4', 'expected pypi:<name>==<version>');
  badRef('go:example.com/m@latest', 'not a semantic version');
  badRef('url:central/../etc/passwd', '. or .. segments');
  badRef('deb:foo', 'unknown protocol "deb"');
});

test('package-lock v3 keeps each entry and its integrity', () => {
  const lock = {
    lockfileVersion: 3,
    packages: {
      '': { name: 'app' },
      'node_modules/a': {
        version: '1.0.0',
        resolved: 'https://r/a/-/a-1.0.0.tgz',
        integrity: `sha512-${Buffer.alloc(64, 1).toString('base64')}`,
      },
      'node_modules/@s/b': {
        version: '2.0.0',
        resolved: 'https://r/@s/b/-/b-2.0.0.tgz',
        integrity: `sha1-${Buffer.alloc(20, 2).toString('base64')}`,
      },
      'node_modules/a/node_modules/c': { version: '3.0.0', resolved: 'https://r/c/-/c-3.0.0.tgz' },
      'packages/local': { version: '0.0.0' },
      'node_modules/local': { link: true, resolved: 'packages/local' },
    },
  };
  const items = planFile('package-lock.json', JSON.stringify(lock));
  assert.deepEqual(
    items.map((i) => i.ref),
    ['npm:a@1.0.0', 'npm:@s/b@2.0.0', 'npm:c@3.0.0'],
  );
  assert.deepEqual(items[0]!.expect, [{ algo: 'sha512', hex: '01'.repeat(64) }]);
  assert.deepEqual(items[1]!.expect, [{ algo: 'sha1', hex: '02'.repeat(20) }]);
});

test('yarn v1, berry, pnpm, requirements, go.sum, compose, Dockerfile', () => {
  const yarn1 = `# yarn lockfile v1\n\n"a@^1.0.0", "a@^1.1.0":\n  version "1.2.0"\n  resolved "https://r/a/-/a-1.2.0.tgz#abc"\n  integrity sha512-${Buffer.alloc(64, 3).toString('base64')}\n`;
  assert.deepEqual(
    planFile('yarn.lock', yarn1).map((i) => i.ref),
    ['npm:a@1.2.0'],
  );
  const berry = `__metadata:\n  version: 6\n\n"a@npm:^1.0.0":\n  version: 1.2.0\n  resolution: "a@npm:1.2.0"\n  checksum: abc\n`;
  assert.deepEqual(
    planFile('yarn.lock', berry).map((i) => i.ref),
    ['npm:a@1.2.0'],
  );
  const pnpm = `lockfileVersion: '9.0'\npackages:\n  '@s/b@2.0.0':\n    resolution: {integrity: sha512-${Buffer.alloc(64, 4).toString('base64')}}\n  c@3.0.0:\n    resolution: {integrity: sha512-${Buffer.alloc(64, 5).toString('base64')}}\n`;
  assert.deepEqual(
    planFile('pnpm-lock.yaml', pnpm).map((i) => i.ref),
    ['npm:@s/b@2.0.0', 'npm:c@3.0.0'],
  );
  const req = `# comment\nalpha==1.0 \\\n    --hash=sha256:${'a'.repeat(64)} \\\n    --hash=sha256:${'b'.repeat(64)}\nbeta[extra]==2.0\n-r other.txt\ngamma>=1\n`;
  const r = planFile('requirements.txt', req);
  assert.deepEqual(
    r.map((i) => i.ref),
    ['pypi:alpha==1.0', 'pypi:beta==2.0'],
  );
  assert.equal(r[0]!.expect!.length, 2);
  const sum = 'example.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\nexample.com/n v0.2.0/go.mod h1:x=\n';
  assert.deepEqual(
    planFile('go.sum', sum).map((i) => i.ref),
    ['go:example.com/m@v1.0.0', 'go:example.com/n@v0.2.0'],
  );
  const compose = `services:\n  web:\n    image: nginx:1.27\n  db:\n    image: ghcr.io/acme/db@sha256:${'c'.repeat(64)}\n`;
  assert.deepEqual(
    planFile('docker-compose.yml', compose).map((i) => i.ref),
    ['oci:docker.io/library/nginx:1.27', `oci:ghcr.io/acme/db@sha256:${'c'.repeat(64)}`],
  );
  const df = 'FROM --platform=linux/amd64 golang:1.22 AS build\nFROM build AS test\nFROM gcr.io/distroless/static\nFROM scratch\n';
  assert.deepEqual(
    planFile('Dockerfile', df).map((i) => i.ref),
    ['oci:docker.io/library/golang:1.22', 'oci:gcr.io/distroless/static:latest'],
  );
  assert.equal(imageRef('localhost:5000/app'), 'oci:localhost:5000/app:latest');
});

test('unsupported or broken files are clear errors', () => {
  assert.throws(() => planFile('notes.txt', 'x'), /unsupported file/);
  assert.throws(() => planFile('package-lock.json', '{'), /package-lock.json: cannot parse/);
  assert.throws(() => planFile('package-lock.json', '{"lockfileVersion":1,"dependencies":{}}'), /lockfileVersion 2 and 3/);
});
