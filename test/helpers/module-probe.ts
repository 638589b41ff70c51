/**
 * Runs an ES module given as source text in a fresh node process (with tsx,
 * from the repository root, so it can import daemon sources by path) and
 * returns the JSON object it prints as its last line. For tests of process-wide
 * state (V8 flags, resident memory) that the test runner's own process would
 * blur.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function runModuleProbe<T>(source: string, env: Record<string, string> = {}): Promise<T> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {
    env: { ...process.env, ...env },
    cwd: ROOT,
    timeout: 60_000,
  });
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
