import { env } from '@huggingface/transformers';

// Session options live in their own module so that a function without transformers.js
// (detect, on onnxruntime-node alone) does not pay for importing it at cold start.
export { sessionOptions } from './session-options.ts';

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
