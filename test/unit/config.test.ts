/**
 * Config loading: unknown keys and bad values are named by their key path,
 * `${ENV}` interpolation in credentials, flags > env > file precedence,
 * routing checks, and the refusal to bind a non-loopback address without an
 * admin token.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig, validateConfig } from '../../daemon/config/load.js';
import { isLarderError, type LarderError } from '../../daemon/core/errors.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon } from '../../daemon/main.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'larder-config-test-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function file(yaml: string): Promise<string> {
  const p = join(dir, `config-${n++}.yaml`);
  await writeFile(p, yaml);
  return p;
}

/** Asserts a config error (E_CONFIG) whose message matches every pattern. */
async function rejectsConfig(p: Promise<unknown> | (() => unknown), ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(typeof p === 'function' ? async () => p() : p, (err: unknown) => {
    assert.ok(isLarderError(err), `a LarderError, got ${String(err)}`);
    assert.equal((err as LarderError).code, 'E_CONFIG');
    for (const re of patterns) assert.match((err as Error).message, re);
    return true;
  });
}

const REMOTE = 'remotes:\n  up: { type: npm, url: "http://127.0.0.1:9/" }\n';

test('unknown keys are errors that name the key path', async () => {
  await rejectsConfig(loadConfig({ file: await file(`${REMOTE}colour: blue\n`), env: {} }), /unknown key "colour"/);
  await rejectsConfig(loadConfig({ file: await file(`${REMOTE}storage: { maxsize: 1GB }\n`), env: {} }), /storage: unknown key "maxsize"/);
  await rejectsConfig(
    loadConfig({ file: await file('remotes:\n  up: { type: npm, url: "http://127.0.0.1:9/", tll: 5m }\n'), env: {} }),
    /remotes\.up: unknown key "tll"/,
  );
  await rejectsConfig(
    loadConfig({ file: await file('remotes:\n  up: { type: nuget, url: "http://x/" }\n'), env: {} }),
    /remotes\.up\.type/,
  );
  await rejectsConfig(loadConfig({ file: await file(`${REMOTE}npm: { default: up, scope: {} }\n`), env: {} }), /npm: unknown key "scope"/);
});

test('bad durations, sizes, URLs and listen addresses name their path', async () => {
  const cases: Array<[string, RegExp]> = [
    ['remotes:\n  up: { type: npm, url: "http://127.0.0.1:9/", ttl: "5 minutes" }\n', /remotes\.up\.ttl: expected a duration/],
    ['remotes:\n  up: { type: npm, url: "http://127.0.0.1:9/", timeout: -3 }\n', /remotes\.up\.timeout: expected a duration/],
    [`${REMOTE}storage: { maxSize: lots }\n`, /storage\.maxSize: expected a size/],
    [`${REMOTE}storage: { memoryCache: "12 parsecs" }\n`, /storage\.memoryCache: expected a size/],
    ['remotes:\n  up: { type: npm, url: "ftp://127.0.0.1/" }\n', /remotes\.up\.url: expected an http/],
    ['remotes:\n  up: { type: npm, url: "not a url" }\n', /remotes\.up\.url/],
    [`${REMOTE}publicUrl: "file:///etc/passwd"\n`, /publicUrl: expected an http/],
    [`${REMOTE}listen: "127.0.0.1:99999"\n`, /listen: expected HOST:PORT/],
    [`${REMOTE}log: { level: loud }\n`, /log\.level/],
    ['remotes:\n  Bad_Name: { type: npm, url: "http://127.0.0.1:9/" }\n', /remotes\.Bad_Name/],
  ];
  for (const [yaml, re] of cases) await rejectsConfig(loadConfig({ file: await file(yaml), env: {} }), re);
  const ok = await loadConfig({
    file: await file('remotes:\n  up: { type: npm, url: "http://127.0.0.1:9/", ttl: 90s, timeout: 2m }\nstorage: { maxSize: 2GiB }\n'),
    env: {},
  });
  assert.equal(ok.remotes.up!.ttl, 90_000);
  assert.equal(ok.remotes.up!.timeout, 120_000);
  assert.equal(ok.storage.maxSize, 2 * 1024 ** 3);
  await rejectsConfig(loadConfig({ file: await file(': : :\n  - [\n'), env: {} }), /invalid YAML/);
  await rejectsConfig(loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), /cannot read .*missing\.yaml.*ENOENT/);
});

test('${ENV} interpolation in credentials, and the missing-variable error', async () => {
  const yaml =
    'remotes:\n  corp: { type: npm, url: "https://npm.corp.test/", auth: { token: "${CORP_TOKEN}" } }\n  basic: { type: npm, url: "https://b.test/", auth: { username: "u-${WHO}", password: "${PASS}" } }\n';
  const p = await file(yaml);
  const cfg = await loadConfig({ file: p, env: { CORP_TOKEN: 's3cret', WHO: 'bot', PASS: 'pw' } });
  assert.equal(cfg.remotes.corp!.auth!.token, 's3cret');
  assert.equal(cfg.remotes.basic!.auth!.username, 'u-bot');
  assert.equal(cfg.remotes.basic!.auth!.password, 'pw');
  await rejectsConfig(loadConfig({ file: p, env: { WHO: 'bot', PASS: 'pw' } }), /remotes\.corp\.auth\.token/, /CORP_TOKEN/);
  await rejectsConfig(loadConfig({ file: p, env: { CORP_TOKEN: 'x', WHO: 'bot' } }), /remotes\.basic\.auth\.password/, /PASS/);
  // The value of a variable is never interpreted again.
  const literal = await loadConfig({ file: p, env: { CORP_TOKEN: '${PASS}', WHO: 'bot', PASS: 'pw' } });
  assert.equal(literal.remotes.corp!.auth!.token, '${PASS}');
});

test('flags override env, env overrides the file, the file overrides defaults', async () => {
  const dataFile = join(dir, 'from-file');
  const dataEnv = join(dir, 'from-env');
  const dataFlag = join(dir, 'from-flag');
  const p = await file(`${REMOTE}listen: "127.0.0.1:1111"\ndataDir: "${dataFile}"\n`);
  const env = { LARDER_LISTEN: '127.0.0.1:2222', LARDER_DATA_DIR: dataEnv };
  const flags = { listen: '127.0.0.1:3333', dataDir: dataFlag };
  const all = await loadConfig({ file: p, env, overrides: flags });
  assert.equal(all.listen, '127.0.0.1:3333');
  assert.equal(all.dataDir, dataFlag);
  const envOnly = await loadConfig({ file: p, env });
  assert.equal(envOnly.listen, '127.0.0.1:2222');
  assert.equal(envOnly.dataDir, dataEnv);
  const fileOnly = await loadConfig({ file: p, env: {} });
  assert.equal(fileOnly.listen, '127.0.0.1:1111');
  assert.equal(fileOnly.dataDir, dataFile);
  assert.equal(fileOnly.source, p);
  // LARDER_CONFIG names the file when no flag does; a file's remotes replace the defaults.
  const viaEnv = await loadConfig({ env: { LARDER_CONFIG: p } });
  assert.equal(viaEnv.listen, '127.0.0.1:1111');
  assert.deepEqual(Object.keys(viaEnv.remotes), ['up']);
  const defaults = await loadConfig({ env: {} });
  assert.equal(defaults.listen, '127.0.0.1:7420');
  assert.ok(Object.values(defaults.remotes).some((r) => r.type === 'npm'));
  await rejectsConfig(loadConfig({ file: p, env: { LARDER_LISTEN: 'nowhere' } }), /listen/);
});

test('routing: npm.default and npm.scopes must name npm remotes', () => {
  const remotes = {
    up: { type: 'npm', url: 'http://127.0.0.1:9/' },
    hub: { type: 'oci', url: 'https://registry.test', host: 'docker.io' },
  };
  assert.throws(
    () => validateConfig({ remotes, npm: { default: 'hub' } }, 't', {}),
    /npm\.default: remote "hub" is of type oci, expected npm/,
  );
  assert.throws(() => validateConfig({ remotes, npm: { default: 'nope' } }, 't', {}), /npm\.default: no remote named "nope"/);
  assert.throws(
    () => validateConfig({ remotes, npm: { scopes: { '@corp': 'hub' } } }, 't', {}),
    /npm\.scopes\.@corp: remote "hub" is of type oci/,
  );
  assert.throws(() => validateConfig({ remotes, npm: { scopes: { corp: 'up' } } }, 't', {}), /npm\.scopes\.corp: expected an npm scope/);
  assert.throws(
    () => validateConfig({ remotes, oci: { default: 'up' } }, 't', {}),
    /oci\.default: remote "up" is of type npm, expected oci/,
  );
  const ok = validateConfig({ remotes, npm: { default: 'up', scopes: { '@corp': 'up' } } }, 't', {});
  assert.deepEqual(ok.npm, { default: 'up', scopes: { '@corp': 'up' } });
});

test('a non-loopback listen address without admin.token is refused at start', async () => {
  const dataDir = join(dir, 'never-created');
  for (const listen of ['0.0.0.0:0', '192.0.2.10:7420', '[::]:0']) {
    const cfg = validateConfig({ listen, dataDir, remotes: { up: { type: 'npm', url: 'http://127.0.0.1:9/' } } }, 't', {});
    await rejectsConfig(startDaemon(cfg, { log: createLogger('silent') }), /admin\.token|not loopback/);
  }
  assert.equal((await readdir(dir)).includes('never-created'), false, 'refused before touching the data dir');
  assert.throws(() => validateConfig({ admin: { token: 'short' } }, 't', {}), /admin\.token/);
});
