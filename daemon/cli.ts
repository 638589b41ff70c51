/**
 * The `larder` command line. `larder serve [--config FILE] [--listen HOST:PORT]
 * [--data-dir DIR]`; flags override LARDER_* env, which overrides the file.
 * Every command and its options are in one table (cli/command-table.ts); `larder
 * <command> --help` prints that command's usage.
 */
import { isLarderError } from './core/errors.js';
import { readCommandLine } from './cli/args.js';
import { commandUsage, overallUsage } from './cli/usage.js';

// The daemon, the config loader and the admin commands are imported when a
// command needs them: `--help` loads neither, `serve` never loads the admin
// client's progress bars, and the admin commands never load the daemon.

export async function main(argv: string[]): Promise<number> {
  const line = readCommandLine(argv);
  if (line.kind === 'help') {
    console.log(line.spec ? commandUsage(line.spec) : overallUsage());
    return 0;
  }
  if (line.kind === 'error') {
    const hint = line.spec ? `see \`larder ${line.spec.name} --help\`` : overallUsage();
    console.error(`larder: ${line.message}\n${hint}`);
    return 2;
  }
  const { command, positionals, flags: values } = line;
  const overrides = { listen: values.listen as string | undefined, dataDir: values['data-dir'] as string | undefined };
  if (command !== 'serve') {
    const [{ loadConfig }, { AdminClient, CliError, EXIT }, { runCommand }] = await Promise.all([
      import('./config/load.js'),
      import('./cli/admin-client.js'),
      import('./cli/commands.js'),
    ]);
    try {
      const cfg = await loadConfig({ file: values.config as string | undefined, overrides });
      if (command === 'policy') return await (await import('./cli/policy.js')).policyCommand(cfg, positionals, values);
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
