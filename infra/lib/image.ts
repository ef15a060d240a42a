import { readFileSync } from 'node:fs';
import path from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { ImageFunctionName, StageConfig } from './stages.ts';

/** The repository root: the Docker build context (the image runs `npm ci` and `npm run build`). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const DOCKERFILE = 'infra/Dockerfile';

/**
 * What goes into the build context (and into the asset hash), in .dockerignore syntax,
 * read from `infra/Dockerfile.dockerignore` so `docker build -f infra/Dockerfile .` and
 * `cdk deploy` send the same files. Without it the context would include node_modules
 * (and cdk.out, recursively).
 */
export const IMAGE_CONTEXT: string[] = readFileSync(path.join(REPO_ROOT, `${DOCKERFILE}.dockerignore`), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));

/**
 * The image command that selects one function's handler: the bundle
 * `dist/functions/<name>/handler.mjs` and its `chunks/` are copied to
 * `${LAMBDA_TASK_ROOT}/functions/<name>/`.
 *
 * @example
 * handlerCommand('predict'); // => ['functions/predict/handler.handler']
 */
export const handlerCommand = (name: ImageFunctionName): string[] => [`functions/${name}/handler.handler`];

/**
 * The one container image, with the command of one function. Every function uses the
 * same asset (same context, same hash), so the image is built and pushed once; the
 * build happens at deploy time, `cdk synth` only hashes the context.
 *
 * @example
 * new lambda.DockerImageFunction(this, 'Fn', { code: functionImage('predict', config) });
 */
export const functionImage = (name: ImageFunctionName, config: StageConfig): lambda.DockerImageCode =>
  lambda.DockerImageCode.fromImageAsset(REPO_ROOT, {
    file: DOCKERFILE,
    cmd: handlerCommand(name),
    platform: config.architecture === 'arm64' ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
    ignoreMode: IgnoreMode.DOCKER,
    exclude: IMAGE_CONTEXT,
  });

export const lambdaArchitecture = (config: StageConfig): lambda.Architecture =>
  config.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
