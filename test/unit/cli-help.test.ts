/**
 * `larder <command> --help` (and `-h`) for every command and sub-command:
 * the real bin/larder.js in a child process, exit 0, its own usage on stdout
 * naming the command and its options, and no daemon loaded or contacted (a
 * listener at --listen sees no connection, --data-dir is not created).
 *
 * bin/larder.js loads ../dist/daemon/cli.js, so it runs from a copy whose
 * dist/daemon/cli.js re-exports the source (daemon/cli.ts, through tsx):
 * the test checks the current source, never a stale build.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMMANDS } from '../../daemon/cli/command-table.js';
import { ROOT, tempDir } from '../helpers/daemon.js';

/** Every command with the options (and sub-commands) its usage must name. */
const EXPECTED: Record<string, string[]> = {
  serve: [],
  status: ['--json'],
  peers: ['--json'],
  prewarm: ['--lockfile FILE', '--from FILE', '--no-deps', '--json'],
  pin: ['--json', 'larder pin add', 'larder pin rm', 'larder pin ls'],
  'pin add': ['--json'],
  'pin rm': [],
  'pin ls': ['--json'],
  evict: ['--key KEY', '--digest DIGEST', '--json'],
  scrub: ['--now', '--json'],
  gc: ['--json'],
  token: ['larder token rotate', 'larder token create', 'larder token ls', 'larder token revoke'],
  'token rotate': [],
  'token create': ['--scope SCOPE', '--name NAME', '--json'],
  'token ls': ['--json'],
  'token revoke': [],
  ui: ['--no-open'],
  export: ['--out FILE', '--pins', '--lockfile FILE', '--prefix KEY', '--deps', '--json'],
  import: ['--json'],
  policy: ['larder policy import-osv', 'larder policy status', 'larder policy explain'],
  'policy import-osv': ['--to DIR', '--json'],
  'policy status': ['--json'],
  'policy explain': ['--json'],
};
const COMMON = ['--config FILE', '--listen HOST:PORT', '--data-dir DIR', '--help'];

let dir: string;
let bin: string;
let listener: Server;
let listen: string;
let connections = 0;

before(async () => {
  dir = await tempDir('larder-cli-help-');
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'dist', 'daemon'), { recursive: true });
  bin = join(dir, 'bin', 'larder.js');
  await copyFile(join(ROOT, 'bin', 'larder.js'), bin);
  const source = pathToFileURL(join(ROOT, 'daemon', 'cli.ts')).href;
  await writeFile(join(dir, 'dist', 'daemon', 'cli.js'), `export { main } from ${JSON.stringify(source)};\n`);
  listener = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listen = `127.0.0.1:${(listener.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => listener.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function larder(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = ['--import', 'tsx', bin, ...args, '--listen', listen, '--data-dir', join(dir, 'data')];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('the command table and this test list the same commands', () => {
  assert.deepEqual(COMMANDS.map((c) => c.name).sort(), Object.keys(EXPECTED).sort());
});

test('every command answers --help with its own usage, exit 0, touching no daemon', async () => {
  const names = Object.keys(EXPECTED);
  const runs = [...names.map((n) => [...n.split(' '), '--help']), ['serve', '-h'], ['pin', 'add', '-h'], ['export', '-h']];
  for (let i = 0; i < runs.length; i += 4) {
    await Promise.all(
      runs.slice(i, i + 4).map(async (args) => {
        const name = args.slice(0, -1).join(' ');
        const r = await larder(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr, '', args.join(' '));
        assert.match(r.stdout, new RegExp(`^usage: larder ${name}\\b`), r.stdout);
        for (const word of [...EXPECTED[name]!, ...COMMON]) {
          assert.ok(r.stdout.includes(word), `${name} --help names ${word}:\n${r.stdout}`);
        }
      }),
    );
  }
  assert.equal(connections, 0, 'no daemon contacted');
  assert.equal(existsSync(join(dir, 'data')), false, 'no data dir created');
});

test('larder --help lists every command; a wrong option is a usage error that points at the help', async () => {
  const all = await larder(['--help']);
  assert.equal(all.code, 0);
  for (const name of Object.keys(EXPECTED).filter((n) => !n.includes(' '))) {
    assert.match(all.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
  }
  const bad = await larder(['serve', '--bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--bogus[\s\S]*larder serve --help/);
  const other = await larder(['gc', '--key', 'k']);
  assert.equal(other.code, 2, 'gc takes no --key');
  assert.match(other.stderr, /--key/);
  assert.equal(connections, 0);
});
