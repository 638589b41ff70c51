/**
 * Every `larder` command in one table: what it does, its arguments and its
 * options. The parser (args.ts) takes each command's options from here and
 * `larder <command> --help` (usage.ts) prints them, so the two cannot drift
 * apart. Nothing here loads the daemon or the admin client.
 */

export interface OptionSpec {
  /** Long name without the dashes, as node:util parseArgs takes it. */
  name: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** Shown without brackets in the synopsis (the command checks it). */
  required?: boolean;
  short?: string;
  /** Placeholder of a string option's value (FILE, KEY…). */
  value?: string;
  help: string;
}

export interface CommandSpec {
  /** `serve`, `pin add`, `token rotate`… */
  name: string;
  /** Positional arguments as the synopsis shows them. */
  args?: string;
  summary: string;
  options: readonly OptionSpec[];
  /** Commands spelled `<name> <sub>`: the sub-commands of this one. */
  subcommands?: readonly string[];
  /** Whether it takes positional arguments. */
  positionals: boolean;
}

const json: OptionSpec = { name: 'json', type: 'boolean', help: 'machine-readable output (JSON)' };

/** Options every command takes: where the config, the daemon and its data are. */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { name: 'config', type: 'string', value: 'FILE', help: 'YAML config (env LARDER_CONFIG)' },
  { name: 'listen', type: 'string', value: 'HOST:PORT', help: "the daemon's address, default 127.0.0.1:7420 (env LARDER_LISTEN)" },
  { name: 'data-dir', type: 'string', value: 'DIR', help: 'blobs, index and admin token (env LARDER_DATA_DIR)' },
  { name: 'help', type: 'boolean', short: 'h', help: 'show this help' },
];

const lockfile: OptionSpec = {
  name: 'lockfile',
  type: 'string',
  multiple: true,
  value: 'FILE',
  help: 'a lockfile or manifest whose artifacts to include (repeatable)',
};

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'serve', summary: 'run the daemon in the foreground until SIGINT or SIGTERM', options: [], positionals: false },
  {
    name: 'status',
    summary: 'hit rate, storage against the budget, pins and their lag, upstream health, replication',
    options: [json],
    positionals: false,
  },
  {
    name: 'peers',
    summary: "LAN peers: each one's health (asked, or left out and why), hits and bytes, and today's share of misses they served",
    options: [json],
    positionals: false,
  },
  {
    name: 'prewarm',
    args: '[<ref>…]',
    summary: 'fetch references and the artifacts of lockfiles into the cache ahead of need (progress bars on a TTY)',
    options: [
      lockfile,
      { name: 'from', type: 'string', value: 'FILE', help: 'read references from FILE, one per line (# comments)' },
      { name: 'no-deps', type: 'boolean', help: 'only the named artifacts, not their dependencies' },
      { ...json, help: 'print the finished job as JSON (default when not on a TTY)' },
    ],
    positionals: true,
  },
  {
    name: 'pin',
    args: 'add <ref>… | rm <id|ref>… | ls',
    summary: 'protect artifacts from eviction and keep mutable pins fresh',
    options: [json],
    subcommands: ['add', 'rm', 'ls'],
    positionals: true,
  },
  { name: 'pin add', args: '<ref>…', summary: 'pin references (npm: with their dependency tree)', options: [json], positionals: true },
  { name: 'pin rm', args: '<id|ref>…', summary: 'remove pins, named by id or by reference', options: [], positionals: true },
  { name: 'pin ls', summary: 'list pins with their state, lag, size and resolution', options: [json], positionals: false },
  {
    name: 'evict',
    summary: 'evict one entry or one blob, or by default unpinned blobs down to the low watermark',
    options: [
      { name: 'key', type: 'string', value: 'KEY', help: 'evict the entry with this cache key' },
      { name: 'digest', type: 'string', value: 'DIGEST', help: 'evict the blob with this digest (sha256:…)' },
      json,
    ],
    positionals: false,
  },
  {
    name: 'scrub',
    summary: 're-hash stored blobs; corrupt ones are quarantined and fetched again',
    options: [{ name: 'now', type: 'boolean', help: 'run a full pass now and wait for it' }, json],
    positionals: false,
  },
  { name: 'gc', summary: 'delete blobs that no entry references', options: [json], positionals: false },
  {
    name: 'token',
    args: 'rotate | create --scope SCOPE --name NAME | ls | revoke <name>',
    summary: 'manage the admin token and scoped tokens (admin, replicate, read)',
    options: [],
    subcommands: ['rotate', 'create', 'ls', 'revoke'],
    positionals: true,
  },
  {
    name: 'token rotate',
    summary: 'replace the admin token (written to <data-dir>/admin-token); dashboard sessions end',
    options: [],
    positionals: false,
  },
  {
    name: 'token create',
    summary: 'make a scoped token and print it (shown this once; only its hash is stored)',
    options: [
      {
        name: 'scope',
        type: 'string',
        value: 'SCOPE',
        required: true,
        help: 'admin (everything), replicate (pin feed and protocol reads: a child daemon), read (protocol reads)',
      },
      { name: 'name', type: 'string', value: 'NAME', required: true, help: 'a name for it, e.g. edge-1 (letters, digits, . _ -)' },
      json,
    ],
    positionals: false,
  },
  { name: 'token ls', summary: 'list scoped tokens: name, scope, created, last used', options: [json], positionals: false },
  { name: 'token revoke', args: '<name>', summary: 'revoke a scoped token; it stops working at once', options: [], positionals: true },
  {
    name: 'policy',
    args: 'import-osv|status|explain',
    summary: 'manage the supply-chain policy (release-age cooldown, OSV blocklist)',
    options: [],
    subcommands: ['import-osv', 'status', 'explain'],
    positionals: true,
  },
  {
    name: 'policy import-osv',
    args: 'FILE|ZIP|DIR…',
    summary: 'check OSV records (MAL- by default; a .zip too) and add them to the blocklist folder the daemon watches',
    options: [{ name: 'to', type: 'string', value: 'DIR', help: 'the blocklist folder (default: policy.blocklist.osv)' }, json],
    positionals: true,
  },
  {
    name: 'policy status',
    summary: 'show the policy in force, counted refusals, the loaded OSV records and quarantined artifacts',
    options: [json],
    positionals: false,
  },
  {
    name: 'policy explain',
    args: '<ref>',
    summary:
      'say why a version is or is not served (allowed, held back until when, blocked by which record, pinned); exits 1 unless allowed',
    options: [json],
    positionals: true,
  },
  {
    name: 'ui',
    summary: 'print a one-time dashboard login link and open it in a browser',
    options: [{ name: 'no-open', type: 'boolean', help: 'only print the link' }],
    positionals: false,
  },
  {
    name: 'export',
    args: '[<ref>…]',
    summary: 'write an air-gap bundle (one tar) of pins, references, lockfiles or cached keys',
    options: [
      { name: 'out', type: 'string', value: 'FILE', required: true, help: 'the bundle to write' },
      { name: 'pins', type: 'boolean', help: 'include every pinned closure' },
      lockfile,
      { name: 'prefix', type: 'string', multiple: true, value: 'KEY', help: 'include cached entries whose key starts with KEY' },
      { name: 'deps', type: 'boolean', help: "include the references' dependencies" },
      { name: 'sign', type: 'boolean', help: "sign the manifest with the daemon's Ed25519 bundle key (made on first use)" },
      { name: 'print-key', type: 'boolean', help: "print the daemon's bundle public key (for bundles.trustedKeys) and exit" },
      json,
    ],
    positionals: true,
  },
  {
    name: 'import',
    args: '<file>',
    summary: "verify a bundle, then add its blobs, entries and pins to the daemon's store",
    options: [
      { name: 'allow-unsigned', type: 'boolean', help: 'accept a bundle that is unsigned or signed by a key not in bundles.trustedKeys' },
      json,
    ],
    positionals: true,
  },
];
