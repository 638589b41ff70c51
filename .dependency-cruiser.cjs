/**
 * Import rules that `npm test` checks (npm run lint:deps). Each rule names
 * the layer it protects; see the README's "Code rules" section.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Import cycles make start-up order and refactors fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'daemon/core is the cache core: node built-ins and itself only (no koa, got, lmdb or any other package).',
      from: { path: '^daemon/core/' },
      to: { pathNot: ['^daemon/core/', '^node:'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'protocols-stay-apart',
      severity: 'error',
      comment: 'A protocol imports the core, the upstream port and the protocol contract, never another protocol.',
      from: { path: '^daemon/protocols/([^/]+)/' },
      to: { path: '^daemon/protocols/[^/]+/', pathNot: ['^daemon/protocols/$1/'] },
    },
    {
      name: 'protocols-see-ports-only',
      severity: 'error',
      comment: 'Protocols reach storage, HTTP, admin and the composition root only through the core ports.',
      from: { path: '^daemon/protocols/' },
      to: { path: '^daemon/(storage|http|admin|compose|cli|bundle|replication|pins|metrics|cluster)/|^daemon/(main|cli)\\.ts$' },
    },
    {
      name: 'only-the-registry-imports-protocols',
      severity: 'error',
      comment: 'Adding a protocol is a folder plus one line in daemon/protocols/registry.ts: nothing else names a protocol folder.',
      from: { path: '^daemon/', pathNot: ['^daemon/protocols/'] },
      to: { path: '^daemon/protocols/[^/]+/' },
    },
    {
      name: 'ui-sees-the-contract-only',
      severity: 'error',
      comment: 'The tray and the dashboard talk to the daemon over HTTP: they import its API contract (and its client), nothing else of daemon/.',
      from: { path: '^(renderer|electron)/' },
      to: { path: '^daemon/', pathNot: ['^daemon/admin/contract\\.ts$', '^daemon/admin/client(-decode)?\\.ts$'] },
    },
    {
      name: 'contract-is-a-leaf',
      severity: 'error',
      comment: 'The admin API contract (contract.ts and its parts in contract/) imports nothing of the project but its own parts.',
      from: { path: '^daemon/admin/contract(\\.ts$|/)' },
      to: { path: '^(daemon|electron|renderer)/', pathNot: ['^daemon/admin/contract/'] },
    },
    {
      name: 'daemon-not-ui',
      severity: 'error',
      comment: 'The daemon never imports the tray or the dashboard.',
      from: { path: '^daemon/' },
      to: { path: '^(electron|renderer)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|bench/\\.work)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js', '.mjs'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
