/**
 * Entry of the Electron utility process that runs the daemon: loads the
 * compiled CLI module named after `--larder-cli` and runs its exported
 * `main(argv)` with the remaining arguments (`serve --listen … --data-dir …`).
 * The CLI module is loaded by path at run time; nothing of the daemon is
 * bundled into the Electron app code.
 */
import { pathToFileURL } from 'node:url';

interface CliModule {
  main(argv: string[]): Promise<number>;
}

const argv = process.argv;
const i = argv.indexOf('--larder-cli');
const cli = i >= 0 ? argv[i + 1] : undefined;
if (!cli) {
  console.error('daemon-host: missing --larder-cli <module>');
  process.exit(2);
}
const mod = (await import(pathToFileURL(cli).href)) as CliModule;
process.exitCode = await mod.main(argv.slice(i + 2));
