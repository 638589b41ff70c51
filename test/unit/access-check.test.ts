/**
 * The client access check (daemon/http/access.ts) and its config: the
 * allow-list admits clients of the listed networks (IPv4-mapped addresses
 * too) and loopback always, refuses others with 403; with anonymous reads
 * off, protocol requests and /metrics need a known token (Bearer or Basic)
 * and get a Basic challenge, while the admin API and the dashboard are left
 * to their own auth; the defaults keep today's behaviour.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Context } from 'koa';
import type { Principal } from '../../daemon/admin/auth.js';
import { presentedSecret } from '../../daemon/admin/auth.js';
import { validateConfig } from '../../daemon/config/load.js';
import { isLarderError } from '../../daemon/core/errors.js';
import { accessCheck } from '../../daemon/http/access.js';
import type { ProtocolAdapter } from '../../daemon/protocols/adapter.js';

const adapter = { protocol: 'npm' } as unknown as ProtocolAdapter;
const identify = (h: string | undefined): Principal | undefined =>
  presentedSecret(h) === 'good' ? { scope: 'read', name: 'ci' } : undefined;

function ctx(remoteAddress: string, path = '/npm/x', authorization = ''): { c: Context; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  const c = {
    path,
    req: { socket: { remoteAddress } },
    get: (h: string) => (h.toLowerCase() === 'authorization' ? authorization : ''),
    set: (h: string, v: string) => {
      headers[h.toLowerCase()] = v;
    },
  } as unknown as Context;
  return { c, headers };
}

function outcome(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    assert.ok(isLarderError(err), String(err));
    return `${err.status} ${err.code}`;
  }
}

test('the allow-list admits listed networks and loopback, refuses others with 403', () => {
  const check = accessCheck({ anonymous: true, allow: ['10.0.0.0/8', 'fd00::/8', '192.168.1.7'] }, identify);
  const cases: Array<[string, string]> = [
    ['10.1.2.3', 'ok'],
    ['::ffff:10.9.9.9', 'ok'],
    ['fd12::1', 'ok'],
    ['192.168.1.7', 'ok'],
    ['127.0.0.1', 'ok'],
    ['::1', 'ok'],
    ['::ffff:127.0.0.1', 'ok'],
    ['192.168.1.8', '403 E_FORBIDDEN'],
    ['11.0.0.1', '403 E_FORBIDDEN'],
    ['2001:db8::1', '403 E_FORBIDDEN'],
  ];
  for (const [peer, want] of cases) {
    assert.equal(
      outcome(() => check(ctx(peer).c, adapter)),
      want,
      peer,
    );
    assert.equal(
      outcome(() => check(ctx(peer, '/_/api/v1/stats').c, undefined)),
      want,
      `${peer} admin API`,
    );
  }
});

test('with anonymous reads off, protocol requests and /metrics need a token; other routes authenticate themselves', () => {
  const check = accessCheck({ anonymous: false, allow: ['0.0.0.0/0', '::/0'] }, identify);
  const none = ctx('10.0.0.1');
  assert.equal(
    outcome(() => check(none.c, adapter)),
    '401 E_UNAUTHORIZED',
  );
  assert.equal(none.headers['www-authenticate'], 'Basic realm="larder"');
  assert.equal(
    outcome(() => check(ctx('10.0.0.1', '/metrics').c, undefined)),
    '401 E_UNAUTHORIZED',
  );
  assert.equal(
    outcome(() => check(ctx('127.0.0.1', '/npm/x', 'Bearer bad').c, adapter)),
    '401 E_UNAUTHORIZED',
  );
  assert.equal(
    outcome(() => check(ctx('10.0.0.1', '/npm/x', 'Bearer good').c, adapter)),
    'ok',
  );
  const basic = `Basic ${Buffer.from('anyone:good').toString('base64')}`;
  assert.equal(
    outcome(() => check(ctx('10.0.0.1', '/npm/x', basic).c, adapter)),
    'ok',
  );
  assert.equal(
    outcome(() => check(ctx('10.0.0.1', '/_/api/v1/stats').c, undefined)),
    'ok',
  );
  assert.equal(
    outcome(() => check(ctx('10.0.0.1', '/_/ui/').c, undefined)),
    'ok',
  );
});

test('access: defaults to anonymous reads from every network; bad networks are config errors', () => {
  const cfg = validateConfig({}, 'test');
  assert.deepEqual(cfg.access, { anonymous: true, allow: ['0.0.0.0/0', '::/0'] });
  for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '::/129']) {
    assert.throws(() => validateConfig({ access: { allow: [bad] } }, 'test'), /access/, bad);
  }
  assert.throws(() => validateConfig({ access: { anonymus: false } }, 'test'), /anonymus/);
});

test('presentedSecret reads Bearer and the password of Basic, nothing else', () => {
  assert.equal(presentedSecret('Bearer abc'), 'abc');
  assert.equal(presentedSecret('bearer  abc '), 'abc');
  assert.equal(presentedSecret(`Basic ${Buffer.from('u:p:w').toString('base64')}`), 'p:w');
  assert.equal(presentedSecret(`Basic ${Buffer.from('u:').toString('base64')}`), undefined);
  assert.equal(presentedSecret('Token abc'), undefined);
  assert.equal(presentedSecret(undefined), undefined);
});
