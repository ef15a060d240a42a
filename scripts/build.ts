import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';
import { openApiJson } from '#functions/openapi.ts';
import { CAPABILITIES } from '#functions/routes.ts';

/**
 * `npm run build`: one esbuild bundle per function, `dist/functions/<name>/handler.mjs`,
 * the file the container image's command names (`functions/<name>/handler.handler`), and
 * beside it `chunks/`: the code the handler only reaches through a dynamic `import()`
 * (the AWS SDK: its DynamoDB client and commands, imported on the first DynamoDB call,
 * the S3 registry client, and the SSO, STS and INI credential providers, which Lambda's
 * environment credentials never load), split out so a cold start neither parses nor
 * compiles it.
 * onnxruntime-node (native binaries) and sharp (native, pulled in by transformers.js
 * for images, unused here) stay external: the image installs them as packages. Also
 * writes the OpenAPI document, `dist/openapi.json`, for API Gateway import or a client
 * generator, and the models CLI, `dist/cli/models.mjs`.
 *
 * `npm run build -- functions` builds the function bundles only: what the image's build
 * stage runs, from the folders its Dockerfile copies (model-packaging/ is not among them).
 */
export const EXTERNAL = ['onnxruntime-node', 'sharp'];
/** Package entry fields in the order the bundles resolve them: ES modules first (tree-shaken). */
const MAIN_FIELDS = ['module', 'main'];
const extra = ['warm', 'authorizer', 'key-sync', 'ingest', 'import'];
const TARGETS = ['all', 'functions'] as const;
const target = process.argv[2] ?? 'all';
if (!(TARGETS as readonly string[]).includes(target)) {
  console.error(`Unknown build target ${JSON.stringify(target)}: use one of ${TARGETS.join(', ')}.`);
  process.exit(2);
}

const entries = [...CAPABILITIES, ...extra].filter((name) => existsSync(`functions/${name}/handler.ts`));
await rm('dist', { recursive: true, force: true });
for (const name of entries) {
  const started = performance.now();
  const result = await build({
    entryPoints: { handler: `functions/${name}/handler.ts` },
    outdir: `dist/functions/${name}`,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    sourcemap: true,
    minify: false,
    external: EXTERNAL,
    // The ES module build of a package that ships both (the AWS SDK's dist-es, Smithy's):
    // esbuild then drops the commands and serialisers a function never calls, where the
    // CommonJS build is one index.js kept whole. Measured on the detect, predict and
    // translate bundles: 15-25% smaller, 15-30 ms less to import (bench/request-path/cold.ts).
    mainFields: MAIN_FIELDS,
    metafile: true,
    logLevel: 'warning',
    // Some dependencies are CommonJS and call require(): give the ESM bundle one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  // What a cold start loads (the handler and the chunks it imports statically) and what it may never load.
  const code = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
  const atStart = new Set(code.filter(([file]) => file.endsWith('/handler.mjs')).map(([file]) => file));
  for (const file of atStart) {
    for (const i of result.metafile.outputs[file]?.imports ?? [])
      if (i.kind === 'import-statement') atStart.add(i.path);
  }
  const sum = (rows: typeof code) => `${(rows.reduce((n, [, o]) => n + o.bytes, 0) / 1e6).toFixed(1)} MB`;
  console.log(
    `dist/functions/${name}/handler.mjs  ${sum(code.filter(([f]) => atStart.has(f)))} at start, ` +
      `${sum(code.filter(([f]) => !atStart.has(f)))} on demand  ${Math.round(performance.now() - started)} ms`,
  );
}

if (target === 'functions') process.exit(0);

// The model-packaging CLI as the package's bin (`hf-models`): plain Node runs it, no tsx.
await build({
  entryPoints: ['model-packaging/cli.ts'],
  outfile: 'dist/cli/models.mjs',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: true,
  external: [...EXTERNAL, '@huggingface/transformers'],
  mainFields: MAIN_FIELDS,
  logLevel: 'warning',
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
await chmod('dist/cli/models.mjs', 0o755);
console.log('dist/cli/models.mjs');

await writeFile('dist/openapi.json', openApiJson());
console.log('dist/openapi.json');
