/**
 * Runs the protocol conformance suite for every registered protocol. Each
 * protocol's fixture is test/conformance/fixtures/<name>.ts (exporting
 * `fixture`); a registered protocol without one fails here.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { PROTOCOLS } from '../../daemon/protocols/registry.js';
import { protocolSuite, type ConformanceFixture } from './protocol.suite.js';

// LARDER_CONFORMANCE=npm,oci runs only those (while working on one protocol).
const only = process.env.LARDER_CONFORMANCE ? process.env.LARDER_CONFORMANCE.split(',') : undefined;

for (const protocol of PROTOCOLS) {
  if (only && !only.includes(protocol.name)) continue;
  const file = new URL(`./fixtures/${protocol.name}.ts`, import.meta.url);
  if (!existsSync(file)) {
    test(`protocol ${protocol.name} has a conformance fixture`, () => {
      assert.fail(`add test/conformance/fixtures/${protocol.name}.ts exporting a ConformanceFixture`);
    });
    continue;
  }
  const mod = (await import(file.href)) as { fixture?: ConformanceFixture };
  if (!mod.fixture) {
    test(`protocol ${protocol.name} has a conformance fixture`, () => assert.fail(`fixtures/${protocol.name}.ts exports no \`fixture\``));
    continue;
  }
  protocolSuite(protocol, mod.fixture);
}
