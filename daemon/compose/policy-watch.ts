/**
 * The watched OSV blocklist: `policy.blocklist.osv` (a folder of records, a
 * `.zip`, or one `.json` file) is watched with chokidar; an added, changed
 * or removed record reloads the whole path into a new list, which then
 * takes the place of the one in force (the policy reads it on every
 * request, so the next request sees it), and the quarantine sweep runs for
 * cached artifacts the new records block. A path that cannot be read (a
 * record half written, not JSON) keeps the previous list, with a warning.
 */
import chokidar from 'chokidar';
import { Blocklist } from '../core/policy/index.js';

export interface BlocklistWatchLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface BlocklistWatch {
  /** Resolves once the watcher has scanned the path (changes after it are seen). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchBlocklist(
  path: string,
  ids: readonly string[],
  blocklist: Blocklist,
  log: BlocklistWatchLog,
  onReload: () => Promise<unknown>,
): BlocklistWatch {
  let running: Promise<void> | undefined;
  let again = false;
  const reload = async (): Promise<void> => {
    try {
      const next = new Blocklist(ids);
      const records = next.loadPath(path);
      blocklist.replaceWith(next);
      log.info({ path, records }, 'policy: OSV blocklist reloaded');
      await onReload();
    } catch (err) {
      log.warn({ path, err: (err as Error).message }, 'policy: cannot reload the OSV blocklist; the previous one stays in force');
    }
  };
  // One reload at a time; changes during one cause exactly one more.
  const schedule = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = reload().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        schedule();
      }
    });
  };
  const w = chokidar.watch(path, {
    ignoreInitial: true,
    depth: 0,
    awaitWriteFinish: { stabilityThreshold: 150, pollInterval: 50 },
  });
  w.on('add', schedule).on('change', schedule).on('unlink', schedule);
  const ready = new Promise<void>((resolve) => w.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      await w.close();
      await running;
    },
  };
}
