/**
 * V8 flags are given where the daemon's process starts, never set from
 * inside it: bin/larder.js's shebang, the `start` script and the tray's
 * utility-process fork pass the same flags, and no daemon module changes V8
 * flags, takes V8's gc or replaces a global at run time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DAEMON_EXEC_ARGV, utilityLauncher, type UtilityProcessApi } from '../../electron/main/launchers.js';
import { ROOT, tempDir } from '../helpers/daemon.js';

test('bin/larder.js starts node with the daemon flags (shebang)', async () => {
  const dir = await tempDir('larder-bin-');
  try {
    await mkdir(join(dir, 'bin'));
    await mkdir(join(dir, 'dist', 'daemon'), { recursive: true });
    await copyFile(join(ROOT, 'bin', 'larder.js'), join(dir, 'bin', 'larder.js'));
    // A stand-in CLI that reports the flags its process started with.
    const cli = 'export async function main() { console.log(JSON.stringify(process.execArgv)); return 0; }\n';
    await writeFile(join(dir, 'dist', 'daemon', 'cli.js'), cli);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(join(dir, 'bin', 'larder.js'), ['serve'], { timeout: 60_000 }, (err, out) => (err ? reject(err) : resolve(out)));
    });
    assert.deepEqual(JSON.parse(stdout), [...DAEMON_EXEC_ARGV]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('npm start passes the same flags', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.start, `node ${DAEMON_EXEC_ARGV.join(' ')} bin/larder.js serve`);
});

test("the tray's utility process is forked with the same flags", () => {
  const calls: Array<{ modulePath: string; args: string[] | undefined; execArgv: string[] | undefined }> = [];
  const api: UtilityProcessApi = {
    fork(modulePath, args, options) {
      calls.push({ modulePath, args, execArgv: options?.execArgv });
      return { pid: 1, kill: () => true, once: () => undefined };
    },
  };
  utilityLauncher(api, '/app/daemon-host.js', '/app/cli.js', ['serve'])();
  const expected = { modulePath: '/app/daemon-host.js', args: ['--larder-cli', '/app/cli.js', 'serve'], execArgv: [...DAEMON_EXEC_ARGV] };
  assert.deepEqual(calls, [expected]);
});

test('no daemon module sets V8 flags, takes gc from a vm context or replaces a global at run time', async () => {
  const files = (await readdir(join(ROOT, 'daemon'), { recursive: true })).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 50);
  const banned = [
    /setFlagsFromString/,
    /runInNewContext|runInContext|createContext/,
    /\bIntl\s*\)?\s*(as [^)]*\))?\.\w+\s*=[^=]/,
    /\bglobalThis\.\w+\s*=[^=]/,
  ];
  for (const f of files) {
    const text = await readFile(join(ROOT, 'daemon', f), 'utf8');
    for (const re of banned) assert.doesNotMatch(text, re, `daemon/${f}`);
  }
});
