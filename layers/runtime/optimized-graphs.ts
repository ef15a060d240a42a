/**
 * Pre-optimised ONNX graphs, cached beside the bundles (issue 9, cold starts): the public
 * face of `optimized/`, the one module callers import.
 *
 * ONNX Runtime spends a large part of session creation on graph optimisation (level
 * `all`). It can save the optimised graph (`optimizedModelFilePath`); loading that file
 * with optimisation `disabled` skips the work: on the 67 MB DistilBERT-shaped bench graph
 * (int8), session creation goes from ~285 ms to ~205 ms (medians of 7 fresh processes, 2
 * busy AMD EPYC cores; the opus-mt-shaped decoder: ~590 ms to ~400 ms). The saved graph is
 * only valid where it was made, so a copy is keyed by the environment
 * (`optimized/environment.ts`). One EFS cache serves instances on different hardware; each
 * finds only its own key.
 *
 * Layout: `<cache>/.optimized/<name>/<version>/<key>/` is a bundle folder transformers.js
 * loads as is: the optimised `onnx/*.onnx` under their original relative paths, the
 * bundle's other files as relative symlinks to the bundle (copies where the file system
 * refuses symlinks), `optimized.json` (environment, every graph's sha256 and its source's)
 * and `.complete`. A copy is published as the model store publishes a bundle
 * (`atomic-publish.ts`): racing instances build it once and nobody ever sees a partial
 * copy. Before a copy is published, each optimised graph must answer sample inputs as the
 * original does (every output within 1e-4, absolute); a graph that does not is rejected
 * for this key. Nothing here ever fails a load: an error is a warning and the original
 * bundle is used.
 *
 * The parts, one idea each:
 * - `optimized/environment.ts`: what a copy is valid for, and its key;
 * - `optimized/loader-graphs.ts`: which graphs each task's loader opens;
 * - `optimized/copy.ts`: finding a copy (cheap, every cold load) and verifying it (every byte);
 * - `optimized/optimize.ts`: optimising graphs in a worker thread, checked on sample inputs;
 * - `optimized/build.ts`: building and publishing a copy, and the rejection markers;
 * - `optimized/cache.ts`: the per-process service with its background builds and memory rule.
 *
 * Benchmarks and tools: `findOptimizedGraphs(dir, { cacheDir })` answers whether this
 * environment has a copy, `buildOptimizedGraphs(dir, { cacheDir })` makes it, and a loader
 * given `{ dir, manifest, optimized: copy }` opens it (`modelSource` in `onnx.ts`).
 */

export type { BundleRef } from './local-bundle.ts';
export { type BuildOutcome, buildOptimizedGraphs, isRejected } from './optimized/build.ts';
export { OptimizedGraphs } from './optimized/cache.ts';
export { findOptimizedGraphs, verifyOptimizedGraphs } from './optimized/copy.ts';
export { environmentKey, type GraphEnvironment, graphEnvironment } from './optimized/environment.ts';
export { loaderGraphs } from './optimized/loader-graphs.ts';
export {
  DEFAULT_TOLERANCE,
  OPTIMIZED_DIR,
  OPTIMIZED_META,
  type OptimizedCopy,
  type OptimizedGraph,
  type OptimizedGraphsOptions,
  type Warn,
} from './optimized/meta.ts';
