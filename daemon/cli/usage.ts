/**
 * `larder --help` and `larder <command> --help`, and the lookups the parser
 * uses, all read from the command table (command-table.ts). Nothing here
 * loads the daemon or the admin client.
 */
import { COMMANDS, COMMON_OPTIONS, type CommandSpec, type OptionSpec } from './command-table.js';

const REFERENCES =
  'references: npm:<name>@<version|range|tag>  oci:<host>/<repo>:<tag>|@<digest>  pypi:<name>==<v>  go:<module>@<v>  url:<remote>/<path>';

const byName = new Map(COMMANDS.map((c) => [c.name, c]));

/** The spec of `name` (`pin`, `pin add`…), if there is one. */
export function commandSpec(name: string): CommandSpec | undefined {
  return byName.get(name);
}

/** The top-level commands (no sub-commands), in table order. */
export function topLevelCommands(): string[] {
  return COMMANDS.filter((c) => !c.name.includes(' ')).map((c) => c.name);
}

/** Options of a command and its sub-commands, plus the common ones, as node:util parseArgs takes them. */
export function parseOptions(spec: CommandSpec): Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> {
  const subs = (spec.subcommands ?? []).map((s) => byName.get(`${spec.name} ${s}`)?.options ?? []);
  const all = [...COMMON_OPTIONS, ...spec.options, ...subs.flat()];
  const entry = (o: OptionSpec) => ({ type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) });
  return Object.fromEntries(all.map((o) => [o.name, entry(o)]));
}

function flag(o: OptionSpec): string {
  const text = `--${o.name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  return o.short ? `-${o.short}, ${text}` : text;
}

function optionLines(opts: readonly OptionSpec[]): string[] {
  const width = Math.max(...opts.map((o) => flag(o).length)) + 2;
  return opts.map((o) => `  ${flag(o).padEnd(width)}${o.help}`);
}

/** The synopsis line of one command. */
function synopsis(spec: CommandSpec): string {
  const opts = spec.options.map((o) => {
    const text = `--${o.name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return `${o.required ? text : `[${text}]`}${o.multiple ? '…' : ''}`;
  });
  return ['larder', spec.name, spec.args, ...opts].filter(Boolean).join(' ');
}

/** `larder <command> --help`: what it does, its arguments and options, and the common options. */
export function commandUsage(spec: CommandSpec): string {
  const lines = [`usage: ${synopsis(spec)}`, '', spec.summary];
  const subs = (spec.subcommands ?? []).flatMap((sub) => byName.get(`${spec.name} ${sub}`) ?? []);
  if (subs.length) lines.push('', 'commands:', ...subs.map((s) => `  ${synopsis(s)}\n      ${s.summary}`));
  if (spec.options.length) lines.push('', 'options:', ...optionLines(spec.options));
  lines.push('', 'common options:', ...optionLines(COMMON_OPTIONS));
  if (spec.args?.includes('ref')) lines.push('', REFERENCES);
  return lines.join('\n');
}

/** `larder --help`: every command in one line each. */
export function overallUsage(): string {
  const top = COMMANDS.filter((c) => !c.name.includes(' '));
  const width = Math.max(...top.map((c) => `${c.name} ${c.args ?? ''}`.length)) + 2;
  return [
    'usage: larder <command> [options]',
    '',
    ...top.map((c) => `  ${`${c.name} ${c.args ?? ''}`.padEnd(width)}${c.summary}`),
    '',
    'common options:',
    ...optionLines(COMMON_OPTIONS),
    '',
    "`larder <command> --help` shows a command's own usage and options.",
    REFERENCES,
  ].join('\n');
}
