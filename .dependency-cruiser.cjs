/**
 * The import-graph check of `npm test` (`npm run lint:deps`): no cycles, and the layering of
 * DESIGN.md — functions → layers/http, observability, predictions, storage → layers/tasks →
 * layers/runtime. layers/tasks and layers/runtime are plain TypeScript: no Lambda, Middy,
 * Powertools or AWS SDK (types included). Nothing in the functions' code imports the local
 * emulator, the infrastructure, the benchmarks or the tests.
 */
const AWS_RUNTIME = '(^|/)node_modules/(@types/aws-lambda|aws-lambda|@middy|@aws-sdk|@smithy|@aws-lambda-powertools)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: split the shared part into a module both can import one way.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'plain-tasks-and-runtime',
      severity: 'error',
      comment: 'layers/tasks and layers/runtime never import Lambda, Middy, Powertools or the AWS SDK (DESIGN.md).',
      from: { path: '^layers/(tasks|runtime)/' },
      to: { path: AWS_RUNTIME },
    },
    {
      name: 'runtime-is-the-bottom-layer',
      severity: 'error',
      comment: 'layers/runtime imports only itself (and packages).',
      from: { path: '^layers/runtime/' },
      to: { path: '^(layers/(?!runtime/)|functions/|local/|infra/|model-packaging/|bench/|test/|scripts/)' },
    },
    {
      name: 'tasks-import-only-runtime',
      severity: 'error',
      comment: 'layers/tasks imports layers/runtime and itself only.',
      from: { path: '^layers/tasks/' },
      to: { path: '^(layers/(?!runtime/|tasks/)|functions/|local/|infra/|model-packaging/|bench/|test/|scripts/)' },
    },
    {
      name: 'layers-below-functions',
      severity: 'error',
      comment: 'Nothing in layers/ imports a function, the emulator, the infrastructure, the CLI, benchmarks or tests.',
      from: { path: '^layers/' },
      to: { path: '^(functions/|local/|infra/|model-packaging/|bench/|test/|scripts/)' },
    },
    {
      name: 'functions-never-import-local',
      severity: 'error',
      comment: "The functions' code runs in Lambda: it never imports the local emulator, infra, benchmarks or tests.",
      from: { path: '^functions/' },
      to: { path: '^(local/|infra/|bench/|test/|scripts/)' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import the check cannot resolve would hide its edges.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|cdk.out|\\.data|bench/work|test/fixtures)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.json') },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
      extensions: ['.ts', '.mts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: false,
  },
};
