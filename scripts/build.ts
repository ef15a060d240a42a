import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';
import { openApiJson } from '#functions/openapi.ts';
import { CAPABILITIES } from '#functions/routes.ts';

/**
 * `npm run build`: one esbuild bundle per function, `dist/functions/<name>/handler.mjs`,
 * the file the container image's command names (`functions/<name>/handler.handler`).
 * onnxruntime-node (native binaries) and sharp (native, pulled in by transformers.js
 * for images, unused here) stay external: the image installs them as packages. Also
 * writes the OpenAPI document, `dist/openapi.json`, for API Gateway import or a client
 * generator, and the models CLI, `dist/cli/models.mjs`.
 *
 * `npm run build -- functions` builds the function bundles only: what the image's build
 * stage runs, from the folders its Dockerfile copies (model-packaging/ is not among them).
 */
export const EXTERNAL = ['onnxruntime-node', 'sharp'];
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
    entryPoints: [`functions/${name}/handler.ts`],
    outfile: `dist/functions/${name}/handler.mjs`,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    sourcemap: true,
    minify: false,
    external: EXTERNAL,
    metafile: true,
    logLevel: 'warning',
    // Some dependencies are CommonJS and call require(): give the ESM bundle one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(
    `dist/functions/${name}/handler.mjs  ${(bytes / 1e6).toFixed(1)} MB  ${Math.round(performance.now() - started)} ms`,
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
  logLevel: 'warning',
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
await chmod('dist/cli/models.mjs', 0o755);
console.log('dist/cli/models.mjs');

await writeFile('dist/openapi.json', openApiJson());
console.log('dist/openapi.json');
