import os from 'node:os';
import { env } from '@huggingface/transformers';

/**
 * ONNX Runtime session options, chosen on purpose:
 *
 * - `intraOpNumThreads = os.availableParallelism()`: a Lambda function gets vCPUs in
 *   proportion to its memory (up to 6), and serves one request at a time, so the
 *   operators of one request may use every core. More threads than cores only adds
 *   context switches.
 * - `interOpNumThreads = 1` with `executionMode: 'sequential'`: transformer graphs are
 *   chains; running independent branches in parallel gains nothing and fights the
 *   intra-op pool for the same cores.
 * - `graphOptimizationLevel: 'all'`: constant folding, node fusions (attention,
 *   GELU, LayerNorm) and layout optimisations. It costs a few ms at session creation
 *   (cold start) and saves it on every inference.
 * - `enableCpuMemArena` / `enableMemPattern` stay on (the defaults): allocations are
 *   reused between calls of the same shapes.
 */
export const sessionOptions = (threads = os.availableParallelism()) => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential' as const,
  graphOptimizationLevel: 'all' as const,
  enableCpuMemArena: true,
  enableMemPattern: true,
});

/**
 * Points transformers.js at a local model folder and forbids any download: in Lambda
 * the only way in for a model is the model store (S3 -> EFS cache), pinned by manifest.
 * `modelId`s passed to `from_pretrained` are then `<name>/<version>` under `cacheDir`.
 */
export const configureTransformers = (cacheDir: string): void => {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = cacheDir.endsWith('/') ? cacheDir : `${cacheDir}/`;
  env.useBrowserCache = false;
  env.useFSCache = false;
};
