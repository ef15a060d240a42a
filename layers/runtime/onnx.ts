import { env } from '@huggingface/transformers';
import type { LocalBundle } from './local-bundle.ts';
import { sessionOptions } from './session-options.ts';

// Session options live in their own module so that a function without transformers.js
// (detect, on onnxruntime-node alone) does not pay for importing it at cold start.
export { sessionOptions };

/**
 * Forbids transformers.js any download: in Lambda the only way in for a model is the
 * model store (S3 -> EFS cache), pinned by manifest, and loaders pass absolute bundle
 * folders. Every loader built on transformers.js calls it first (it is idempotent).
 */
export const configureTransformers = (cacheDir = '/'): void => {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = cacheDir.endsWith('/') ? cacheDir : `${cacheDir}/`;
  env.useBrowserCache = false;
  env.useFSCache = false;
};

/** What a transformers.js loader opens: a bundle folder, or a cached bundle (whose optimised copy it prefers). */
export type ModelSource = string | Pick<LocalBundle, 'dir' | 'manifest' | 'optimized'>;

/**
 * The folder, dtype and ONNX Runtime session options a loader uses for `source`: a
 * bundle's optimised copy with graph optimisation `disabled` when `ModelRuntime` found one
 * for this machine (`optimized-graphs.ts`), else the bundle's own folder at level `all`.
 * A bundle's dtype is its manifest's unless `options.dtype` says otherwise (then its own graphs).
 *
 * @example
 * modelSource(bundle, {}); // => { dir: '/mnt/models/.optimized/m/1/3f2a…', dtype: 'q8', session_options: { graphOptimizationLevel: 'disabled', ... } }
 */
export const modelSource = (source: ModelSource, options: { dtype?: 'fp32' | 'q8'; threads?: number } = {}) => {
  if (typeof source === 'string') {
    return { dir: source, dtype: options.dtype ?? 'fp32', session_options: sessionOptions(options.threads) };
  }
  const dtype = options.dtype ?? source.manifest.dtype;
  const optimized = dtype === source.manifest.dtype ? source.optimized : undefined;
  return {
    dir: optimized?.dir ?? source.dir,
    dtype,
    session_options: sessionOptions(options.threads, optimized ? 'disabled' : 'all'),
  };
};
