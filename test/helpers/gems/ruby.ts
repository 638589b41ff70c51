/**
 * Debian's ruby 3.1 tools (`gem` 3.3, `bundle` 2.3) run with a home of the
 * test's own: no user config, no proxy settings, nothing read from or
 * written to the real home.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RubyResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a ruby tool with `home` as its home (gems installed below it). */
export function rubyEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    HOME: home,
    GEM_HOME: join(home, 'gem-home'),
    GEM_SPEC_CACHE: join(home, 'spec-cache'),
    BUNDLE_USER_HOME: join(home, 'bundle-home'),
    BUNDLE_SILENCE_ROOT_WARNING: '1',
    BUNDLE_DISABLE_VERSION_CHECK: 'true',
    BUNDLE_RETRY: '0',
    LANG: 'C.UTF-8',
    ...extra,
  };
}

/** Runs `gem` or `bundle` (or another ruby tool); never throws on a non-zero exit. */
export async function ruby(
  tool: string,
  args: string[],
  opts: { cwd: string; home: string; env?: Record<string, string> },
): Promise<RubyResult> {
  try {
    const r = await run(`/usr/bin/${tool}`, args, {
      cwd: opts.cwd,
      env: rubyEnv(opts.home, opts.env),
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The versions of the tools, for reports: "ruby 3.1.2, gem 3.3.15, bundler 2.3.15". */
export async function rubyVersions(home: string): Promise<string> {
  const [r, g, b] = await Promise.all([
    ruby('ruby', ['-e', 'print RUBY_VERSION'], { cwd: home, home }),
    ruby('gem', ['--version'], { cwd: home, home }),
    ruby('bundle', ['--version'], { cwd: home, home }),
  ]);
  return `ruby ${r.stdout.trim()}, gem ${g.stdout.trim()}, ${b.stdout.trim().replace('Bundler version', 'bundler')}`;
}
