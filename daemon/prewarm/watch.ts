/**
 * Watched folders (chokidar): lockfiles matching `prewarm.watch` globs are
 * warmed when they appear or change (debounced; unchanged content is
 * skipped, and items already cached finish as "cached"). The pin file is
 * reloaded on change the same way.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import chokidar from 'chokidar';
import type { Logger } from '../log.js';

export interface Watcher {
  close(): Promise<void>;
}

const DEBOUNCE_MS = 300;

/** A glob as a regular expression: `**\/` any folders (or none), `**` anything, `*` and `?` within a segment. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^$()|[\]{}\\]/, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Splits glob patterns into the folder chokidar watches and a matcher for file names. */
function compile(globs: string[]): { roots: string[]; match(path: string): boolean } {
  const res = globs.map((g) => {
    const star = g.search(/[*?[{]/);
    const root = star < 0 ? g : g.slice(0, g.lastIndexOf('/', star) + 1) || '.';
    return { root, re: globToRegExp(g) };
  });
  return { roots: [...new Set(res.map((r) => r.root))], match: (p) => res.some((r) => r.re.test(p)) };
}

function debounced(fn: (path: string) => Promise<void>): (path: string) => void {
  const timers = new Map<string, NodeJS.Timeout>();
  return (path) => {
    clearTimeout(timers.get(path));
    timers.set(
      path,
      setTimeout(() => {
        timers.delete(path);
        void fn(path);
      }, DEBOUNCE_MS),
    );
  };
}

export function watchLockfiles(globs: string[], warm: (name: string, content: string) => unknown, log: Logger): Watcher {
  const { roots, match } = compile(globs);
  const seen = new Map<string, string>();
  const onFile = debounced(async (path) => {
    if (!match(path)) return;
    try {
      const content = await readFile(path, 'utf8');
      const hash = createHash('sha256').update(content).digest('hex');
      if (seen.get(path) === hash) return;
      seen.set(path, hash);
      warm(path, content);
      log.info({ path }, 'watched lockfile changed: pre-warming');
    } catch (err) {
      log.warn({ path, err: (err as Error).message }, 'cannot pre-warm watched file');
    }
  });
  const w = chokidar.watch(roots, {
    ignoreInitial: false,
    awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 },
    ignored: /node_modules/,
  });
  w.on('add', onFile).on('change', onFile);
  return { close: () => w.close() };
}

export function watchPinFile(file: string, sync: (refs: string[]) => Promise<void>, log: Logger): Watcher {
  const load = debounced(async () => {
    try {
      const text = await readFile(file, 'utf8');
      const refs = text
        .split(/\r?\n/)
        .map((l) => l.replace(/#.*$/, '').trim())
        .filter(Boolean);
      await sync(refs);
      log.info({ file, pins: refs.length }, 'pin file loaded');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file, err: (err as Error).message }, 'cannot load pin file');
    }
  });
  const w = chokidar.watch(file, { ignoreInitial: false });
  w.on('add', load).on('change', load);
  return { close: () => w.close() };
}
