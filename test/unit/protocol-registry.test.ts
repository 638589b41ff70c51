/**
 * The protocol registry: the composition root builds mounts, root routes,
 * warmers and scrub repair from the descriptors alone; clashing descriptors
 * are refused; and nothing outside daemon/protocols/ imports a protocol
 * folder or spells a registered protocol's name, so a new protocol is its
 * folder plus one registry line.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { validateConfig } from '../../daemon/config/load.js';
import { badRef, type Ref } from '../../daemon/core/refs.js';
import type { Entry } from '../../daemon/core/types.js';
import { buildProtocols, checkRegistry, type SharedServices } from '../../daemon/compose/protocols.js';
import { json } from '../../daemon/protocols/adapter.js';
import type { Protocol } from '../../daemon/protocols/contract.js';
import { PROTOCOLS } from '../../daemon/protocols/registry.js';
import { parseRef } from '../../daemon/prewarm/refs.js';
import { ROOT } from '../helpers/daemon.js';

const fake = (name: string, over: Partial<Protocol> = {}): Protocol => ({
  name,
  remotes: [{ type: name, schema: z.object({ type: z.literal(name), url: z.string() }), parentPrefixes: () => [] }],
  mounts: [`/${name}`],
  refs: {
    scheme: name,
    usage: `${name}:<x>`,
    parse: (_body, raw): Ref => ({ protocol: name, raw }),
    format: (r) => r.raw,
    isMutable: () => false,
  },
  create: () => ({
    adapter: {
      protocol: name,
      handle: async () => json(200, { name }),
      renderError: () => ({ status: 500, headers: {}, body: Buffer.alloc(0) }),
    },
    warmer: {
      protocol: name,
      resolve: async () => 'v',
      warm: async () => ({ resolved: 'v', keys: [], bytes: 0, fetched: 0, children: [] }),
    },
    repair: async () => true,
  }),
  ...over,
});

const shared = { indexed: () => false } as unknown as SharedServices;
const entry = (protocol: string): Entry =>
  ({
    key: `${protocol}:r:k`,
    digest: `sha256:${'0'.repeat(64)}`,
    size: 0,
    fetchedAt: 0,
    expiresAt: 0,
    immutable: true,
    meta: { protocol },
  }) as Entry;

test('the composition root takes mounts, root paths, warmers and repair from the descriptors', async () => {
  const cfg = validateConfig({ remotes: {} }, 'test', {});
  const parts = buildProtocols(cfg, shared, [fake('alpha', { rootPaths: /^\/a-root$/ }), fake('beta', { refs: undefined })]);
  assert.deepEqual(
    parts.mounts.map((m) => [m.prefix, m.adapter.protocol]),
    [
      ['/alpha', 'alpha'],
      ['/beta', 'beta'],
    ],
  );
  assert.deepEqual(
    parts.rootRoutes.map((r) => [String(r.match), r.adapter.protocol]),
    [['/^\\/a-root$/', 'alpha']],
  );
  assert.deepEqual([...parts.warmers.keys()], ['alpha'], 'warmers by reference scheme; none without one');
  assert.equal(await parts.repair(entry('alpha')), true);
  assert.equal(await parts.repair(entry('gamma')), false, 'an entry of no registered protocol is not repaired');
});

test('two protocols claiming the same name, mount, remote type or scheme are refused', () => {
  assert.doesNotThrow(() => checkRegistry(PROTOCOLS));
  assert.throws(() => checkRegistry([fake('alpha'), fake('alpha')]), /name alpha/);
  assert.throws(() => checkRegistry([fake('alpha'), fake('beta', { mounts: ['/alpha'] })]), /mount \/alpha/);
  assert.throws(() => checkRegistry([fake('alpha'), fake('beta', { remotes: fake('alpha').remotes })]), /remote type alpha/);
  assert.throws(
    () =>
      checkRegistry([
        fake('alpha'),
        fake('beta', {
          refs: {
            ...fake('alpha').refs!,
            parse: () => {
              throw badRef('x', 'y');
            },
          },
        }),
      ]),
    /reference scheme alpha/,
  );
});

test('references and remote types of every registered protocol are known, and errors list them', () => {
  const schemes = PROTOCOLS.flatMap((p) => (p.refs ? [p.refs.scheme] : []));
  assert.throws(
    () => parseRef('nope:x'),
    (e: Error) => schemes.every((s) => e.message.includes(s)),
  );
  const types = PROTOCOLS.flatMap((p) => p.remotes.map((k) => k.type));
  assert.throws(
    () => validateConfig({ remotes: { r: { type: 'nope', url: 'http://127.0.0.1/' } } }, 't', {}),
    (e: Error) => types.every((t) => e.message.includes(t)),
  );
});

/** Every .ts file below a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('outside daemon/protocols/ nothing imports a protocol folder or names a registered protocol', () => {
  const words = new Set(
    PROTOCOLS.flatMap((p) => [
      p.name,
      ...p.remotes.map((k) => k.type),
      ...(p.refs ? [p.refs.scheme] : []),
      ...(p.section ? [p.section.key] : []),
    ]),
  );
  // The generic remote type `http` is also a URL scheme (TLS picks 'http' or 'https'); it is left to the import rule.
  words.delete('http');
  // A string literal that is exactly a protocol's name (the code style quotes with ' and `; " appears inside messages).
  const quoted = new RegExp(`['\`](${[...words].join('|')})['\`]`);
  const folderImport = /from '[^']*protocols\/(?!contract\.js|adapter\.js|registry\.js)[^']*'/;
  const offenders: string[] = [];
  for (const file of sources(join(ROOT, 'daemon'))) {
    const rel = relative(ROOT, file);
    if (rel.startsWith(join('daemon', 'protocols'))) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/^\s*(\*|\/\/|\/\*)/.test(line)) return; // comments may give examples
        if (folderImport.test(line) || quoted.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
  }
  assert.deepEqual(offenders, []);
});
