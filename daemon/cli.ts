/**
 * The `larder` command line. `larder serve [--config FILE] [--listen HOST:PORT]
 * [--data-dir DIR]`; flags override LARDER_* env, which overrides the file.
 */
import { parseArgs } from 'node:util';
import { isLarderError } from './core/errors.js';

// The daemon, the config loader and the admin commands are imported when a
// command needs them: `serve` never loads the admin client's progress bars,
// and the admin commands never load the daemon.

const USAGE = `usage: larder <command> [--config FILE] [--listen HOST:PORT] [--data-dir DIR]

  serve                          run the daemon
  status                         hit rate, storage, pins, upstream health
  prewarm <refs…> [--lockfile FILE]… [--from FILE] [--no-deps]
  pin add <ref…> | pin rm <id|ref…> | pin ls
  evict [--key KEY | --digest DIGEST]   (default: down to the low watermark)
  scrub [--now]                  re-hash blobs, quarantine and repair bad ones
  gc                             collect unreferenced blobs
  token rotate                   replace the admin token
  ui [--no-open]                 print (and open) a one-time dashboard login link
  export --out FILE [--pins] [<refs…>] [--lockfile FILE]… [--prefix KEY]… [--deps]
                                 write an air-gap bundle (one tar) of pins, references, lockfiles or cached keys
  import FILE                    verify a bundle, then add its blobs, entries and pins

  --config FILE      YAML config (env LARDER_CONFIG)
  --listen HOST:PORT address to bind, default 127.0.0.1:7420 (env LARDER_LISTEN)
  --data-dir DIR     blobs and index (env LARDER_DATA_DIR)
  --json             machine-readable output (default when not on a TTY for prewarm)

references: npm:<name>@<version|range|tag>  oci:<host>/<repo>:<tag>|@<digest>  pypi:<name>==<v>  go:<module>@<v>  url:<remote>/<path>`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const commands = ['serve', 'status', 'prewarm', 'pin', 'evict', 'scrub', 'gc', 'token', 'ui', 'export', 'import'];
  if (!commands.includes(command)) {
    console.error(`larder: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      allowPositionals: command !== 'serve',
      options: {
        config: { type: 'string' },
        listen: { type: 'string' },
        'data-dir': { type: 'string' },
        json: { type: 'boolean' },
        lockfile: { type: 'string', multiple: true },
        from: { type: 'string' },
        'no-deps': { type: 'boolean' },
        key: { type: 'string' },
        digest: { type: 'string' },
        now: { type: 'boolean' },
        'no-open': { type: 'boolean' },
        out: { type: 'string' },
        pins: { type: 'boolean' },
        prefix: { type: 'string', multiple: true },
        deps: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`larder: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const overrides = { listen: values.listen as string | undefined, dataDir: values['data-dir'] as string | undefined };
  if (command !== 'serve') {
    const [{ loadConfig }, { AdminClient, CliError, EXIT }, { runCommand }] = await Promise.all([
      import('./config/load.js'),
      import('./cli/admin-client.js'),
      import('./cli/commands.js'),
    ]);
    try {
      const cfg = await loadConfig({ file: values.config as string | undefined, overrides });
      return await runCommand(command, positionals, values, () => AdminClient.fromConfig(cfg));
    } catch (err) {
      if (err instanceof CliError) {
        console.error(`larder: ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ''}`);
        return err.exitCode;
      }
      if (isLarderError(err)) {
        console.error(`larder: ${err.message} [${err.code}]`);
        return err.code === 'E_CONFIG' ? EXIT.config : EXIT.failed;
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        console.error(`larder: ${(err as Error).message}`);
        return EXIT.failed;
      }
      throw err;
    }
  }
  const [{ loadConfig }, { createLogger }, { startDaemon }] = await Promise.all([
    import('./config/load.js'),
    import('./log.js'),
    import('./main.js'),
  ]);
  try {
    const cfg = await loadConfig({ file: values.config as string | undefined, overrides });
    const log = createLogger(cfg.log.level);
    // Signals that arrive during start-up wait for the start to finish, then stop in order.
    let signalled: NodeJS.Signals | undefined;
    let onSignal: (sig: NodeJS.Signals) => void = (sig) => {
      signalled = sig;
    };
    const handler = (sig: NodeJS.Signals): void => onSignal(sig);
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    const daemon = await startDaemon(cfg, { log });
    await new Promise<void>((resolve) => {
      onSignal = (sig) => {
        log.info({ signal: sig }, 'shutting down');
        daemon.stop().then(resolve, resolve);
      };
      if (signalled) onSignal(signalled);
      else {
        console.error(`larder: serving on ${daemon.url} (data: ${cfg.dataDir})`);
        console.error(`larder: dashboard login (one-time link): ${daemon.loginLink()}`);
      }
    });
    return 0;
  } catch (err) {
    if (isLarderError(err)) {
      console.error(`larder: ${err.message} [${err.code}]`);
      return err.code === 'E_CONFIG' ? 78 : 1;
    }
    throw err;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
