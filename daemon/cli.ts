/**
 * The `larder` command line. `larder serve [--config FILE] [--listen HOST:PORT]
 * [--data-dir DIR]`; flags override LARDER_* env, which overrides the file.
 */
import { parseArgs } from 'node:util';
import { isLarderError } from './core/errors.js';
import { loadConfig } from './config/load.js';
import { createLogger } from './log.js';
import { startDaemon } from './main.js';

const USAGE = `usage: larder serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR]

  --config FILE      YAML config (env LARDER_CONFIG)
  --listen HOST:PORT address to bind, default 127.0.0.1:7420 (env LARDER_LISTEN)
  --data-dir DIR     blobs and index (env LARDER_DATA_DIR)`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'serve') {
    console.error(`larder: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  let values: { config?: string; listen?: string; 'data-dir'?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { config: { type: 'string' }, listen: { type: 'string' }, 'data-dir': { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    console.error(`larder: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    const cfg = await loadConfig({ file: values.config, overrides: { listen: values.listen, dataDir: values['data-dir'] } });
    const log = createLogger(cfg.log.level);
    const daemon = await startDaemon(cfg, { log });
    console.error(`larder: serving on ${daemon.url} (data: ${cfg.dataDir})`);
    console.error(`larder: dashboard login (one-time link): ${daemon.loginLink()}`);
    await new Promise<void>((resolve) => {
      const onSignal = (sig: NodeJS.Signals): void => {
        log.info({ signal: sig }, 'shutting down');
        daemon.stop().then(resolve, resolve);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
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
