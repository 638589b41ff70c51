/**
 * Reads a `larder` command line against the command table (cli/command-table.ts):
 * which command runs, or which usage to print. Each command accepts its own
 * options and the common ones; `--help` / `-h` anywhere asks for the usage
 * of the command (or sub-command) it follows.
 */
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, type CommandSpec } from './command-table.js';
import { commandSpec, parseOptions, topLevelCommands } from './usage.js';

export type Flags = Record<string, string | boolean | string[] | undefined>;

export type CommandLine =
  /** Run `command` (a top-level one) with its positionals (a sub-command first) and flags. */
  | { kind: 'run'; command: string; positionals: string[]; flags: Flags }
  /** Print the usage of `spec`, or the overall usage when undefined. */
  | { kind: 'help'; spec: CommandSpec | undefined }
  /** A usage error; `spec` is the command it concerns, if known. */
  | { kind: 'error'; message: string; spec: CommandSpec | undefined };

const asksForHelp = (args: string[]): boolean => args.includes('--help') || args.includes('-h');

/** `larder help [<command> [<sub>]]`. */
function helpCommand(words: string[]): CommandLine {
  if (!words.length) return { kind: 'help', spec: undefined };
  const spec = commandSpec(words.join(' '));
  return spec ? { kind: 'help', spec } : { kind: 'error', message: `no command ${JSON.stringify(words.join(' '))}`, spec: undefined };
}

/** The sub-command spec named by the first positional, when `spec` has sub-commands. */
function subSpec(spec: CommandSpec, first: string | undefined): CommandSpec | undefined {
  return first !== undefined && spec.subcommands?.includes(first) ? commandSpec(`${spec.name} ${first}`) : undefined;
}

export function readCommandLine(argv: string[]): CommandLine {
  const [command, ...rest] = argv;
  if (command === undefined) return { kind: 'error', message: 'no command given', spec: undefined };
  if (command === '--help' || command === '-h') return { kind: 'help', spec: undefined };
  if (command === 'help') return helpCommand(rest);
  const spec = topLevelCommands().includes(command) ? commandSpec(command) : undefined;
  if (!spec) return { kind: 'error', message: `unknown command ${JSON.stringify(command)}`, spec: undefined };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: parseOptions(spec), allowPositionals: true, strict: true });
  } catch (err) {
    // `larder serve --bogus --help` still answers with the usage.
    if (asksForHelp(rest)) return { kind: 'help', spec: subSpec(spec, rest[0]) ?? spec };
    return { kind: 'error', message: (err as Error).message, spec };
  }
  const sub = subSpec(spec, parsed.positionals[0]);
  const target = sub ?? spec;
  if (parsed.values.help === true) return { kind: 'help', spec: target };
  const allowed = new Set([...COMMON_OPTIONS, ...target.options].map((o) => o.name));
  const stray = Object.keys(parsed.values).find((k) => !allowed.has(k));
  if (stray !== undefined) return { kind: 'error', message: `larder ${target.name} takes no option '--${stray}'`, spec: target };
  const args = sub ? parsed.positionals.slice(1) : parsed.positionals;
  if (!target.positionals && args.length) {
    return { kind: 'error', message: `larder ${target.name} takes no arguments (got ${JSON.stringify(args[0])})`, spec: target };
  }
  return { kind: 'run', command, positionals: parsed.positionals, flags: parsed.values as Flags };
}
