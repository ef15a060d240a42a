import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '#functions/routes.ts';
import { DOCKERFILE, IMAGE_CONTEXT, REPO_ROOT } from '../../infra/lib/image.ts';
import { tempDir } from '../helpers/bundles.ts';
import { type ReplayedStage, replayDockerfile } from '../helpers/image-replay.ts';
import { imageFunctionEnv, SYNTH_TIMEOUT_MS } from './synth.ts';

const run = promisify(execFile);
/** Bundling every function and installing the externals offline: about a minute on 2 busy cores. */
const REPLAY_TIMEOUT_MS = 300_000;
const IMPORT_TIMEOUT_MS = 60_000;
const FUNCTIONS = [...CAPABILITIES, 'warm', 'authorizer', 'key-sync', 'ingest', 'import'] as const;
/** This machine's architecture as BuildKit names it in TARGETARCH. */
const HOST_TARGETARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
const HOST_CPU = process.arch === 'arm64' ? 'arm64' : 'x64';

let stages: ReplayedStage[];
const final = () => stages.at(-1) as ReplayedStage;
/** Where the final stage's LAMBDA_TASK_ROOT is on this machine. */
const taskRoot = () => path.join(final().root, final().env.LAMBDA_TASK_ROOT ?? '/nonexistent');

/**
 * Imports one bundle in a plain `node` process as the Lambda runtime of the image would:
 * cwd at the task root, the image's environment, the function's environment from the
 * synthesized template (values CloudFormation resolves at deploy are placeholders).
 */
const importBundle = async (fn: string, env: Record<string, string>) =>
  run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      // The Lambda runtime defines the awslambda global (response streaming) before it imports a handler.
      `globalThis.awslambda ??= { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };
       const m = await import(${JSON.stringify(`file://${taskRoot()}/functions/${fn}/handler.mjs`)});
       if (typeof m.handler !== 'function') throw new Error('no handler export');
       process.stdout.write('handler:' + typeof m.handler);`,
    ],
    { cwd: taskRoot(), env: { PATH: process.env.PATH ?? '', ...final().env, ...env }, timeout: IMPORT_TIMEOUT_MS },
  );

describe('infra/Dockerfile, replayed without Docker from exactly what it copies', () => {
  beforeAll(async () => {
    // TARGETARCH and BUILDPLATFORM empty: SAM's classic builder, the harder case (BuildKit sets both).
    stages = await replayDockerfile({
      repoRoot: REPO_ROOT,
      dockerfile: DOCKERFILE,
      contextIgnore: IMAGE_CONTEXT,
      buildArgs: { TARGETARCH: '', BUILDPLATFORM: '' },
      workDir: await tempDir('image'),
    });
  }, REPLAY_TIMEOUT_MS);

  it('builds every function bundle in the build stage from the copied paths only', () => {
    const build = stages.find((s) => s.name === 'build') as ReplayedStage;

    for (const fn of FUNCTIONS) {
      expect(existsSync(path.join(build.root, 'src/dist/functions', fn, 'handler.mjs')), fn).toBe(true);
    }
    // The context holds nothing the Dockerfile does not copy: the import function's
    // model-packaging/ reached the stage, the CLI's tests, benchmarks and infra did not.
    expect(existsSync(path.join(build.root, 'src/model-packaging/import-model.ts'))).toBe(true);
    for (const dir of ['test', 'bench', 'infra/lib'])
      expect(existsSync(path.join(build.root, 'src', dir)), dir).toBe(false);
  });

  it('puts the bundles and the externals the final stage copies under LAMBDA_TASK_ROOT', () => {
    expect(final().env.LAMBDA_TASK_ROOT).toBe('/var/task');
    expect(readdirSync(path.join(taskRoot(), 'functions')).sort()).toEqual([...FUNCTIONS].sort());
    for (const pkg of ['onnxruntime-node', 'sharp'])
      expect(existsSync(path.join(taskRoot(), 'node_modules', pkg))).toBe(true);
    // Only this platform's onnxruntime binaries are left (TARGETARCH was empty: derived from the stage's node).
    expect(readdirSync(path.join(taskRoot(), 'node_modules/onnxruntime-node/bin/napi-v6'))).toEqual(['linux']);
    expect(readdirSync(path.join(taskRoot(), 'node_modules/onnxruntime-node/bin/napi-v6/linux'))).toEqual([HOST_CPU]);
  });

  it('has a default command that names a bundle in the image', () => {
    const [command = ''] = final().cmd ?? [];
    const file = `${command.slice(0, command.lastIndexOf('.'))}.mjs`;

    expect(existsSync(path.join(taskRoot(), file)), command).toBe(true);
  });

  it.each(FUNCTIONS)(
    '%s: the bundle imports in plain node with the image and function environment',
    async (fn) => {
      const env = imageFunctionEnv('prod', fn);

      const { stdout } = await importBundle(fn, env);

      // The inference functions run without source maps (a cold-start cost); the others keep them.
      const keepsMaps = (['authorizer', 'key-sync', 'ingest', 'import'] as readonly string[]).includes(fn);
      expect(env.NODE_OPTIONS).toBe(keepsMaps ? '--enable-source-maps' : undefined);
      expect(stdout).toContain('handler:function');
    },
    SYNTH_TIMEOUT_MS + IMPORT_TIMEOUT_MS,
  );
});

describe('infra/Dockerfile deps stage under BuildKit', () => {
  it(
    'installs the externals for the TARGETARCH BuildKit sets, and refuses an unknown one',
    async () => {
      const ok = await replayDockerfile({
        repoRoot: REPO_ROOT,
        dockerfile: DOCKERFILE,
        contextIgnore: IMAGE_CONTEXT,
        buildArgs: { TARGETARCH: HOST_TARGETARCH },
        workDir: await tempDir('image-deps'),
        only: ['deps'],
      }).then((s) => s[0] as ReplayedStage);
      const bad = replayDockerfile({
        repoRoot: REPO_ROOT,
        dockerfile: DOCKERFILE,
        contextIgnore: IMAGE_CONTEXT,
        buildArgs: { TARGETARCH: 's390x' },
        workDir: await tempDir('image-deps-bad'),
        only: ['deps'],
      });

      expect(readdirSync(path.join(ok.root, 'deps/node_modules/onnxruntime-node/bin/napi-v6/linux'))).toEqual([
        HOST_CPU,
      ]);
      await expect(bad).rejects.toThrow(/unsupported architecture s390x/);
    },
    REPLAY_TIMEOUT_MS,
  );
});
