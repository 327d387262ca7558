// The layer rule, checked in `npm test` (npm run lint:layers). Layers, lowest first:
//   core/      pure logic and shapes; the only non-type code workflow code imports
//   src/       libraries: config, LLM, coders, edits, exec, store, data, metrics, scoring, integrity
//   temporal/  workflows (deterministic: core/ and types only), activities, workers, client
//   app/       the CLI and reports
// Nothing imports a layer above its own; no file cycles.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-is-the-bottom',
      comment: 'core/ may import only core/ (and types from anywhere below app/)',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(src|temporal|app)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-types-only-from-src',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(temporal|app)/' },
    },
    {
      name: 'src-below-temporal',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(temporal|app)/' },
    },
    {
      name: 'temporal-below-app',
      severity: 'error',
      from: { path: '^temporal/' },
      to: { path: '^app/' },
    },
    {
      name: 'workflows-import-core-and-types',
      comment:
        'workflow code runs in the deterministic sandbox: only core/, its own folder, the workflow SDK, and types',
      severity: 'error',
      from: { path: '^temporal/workflows/' },
      to: {
        pathNot: ['^core/', '^temporal/workflows/', '@temporalio/(workflow|common)'],
        dependencyTypesNot: ['type-only'],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|test|bench|scripts)/' },
  },
};
