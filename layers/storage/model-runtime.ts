import path from 'node:path';
import { logger, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { reportModelEvent } from '#predictions/model-state.ts';
import { type Config, config } from '#runtime/config.ts';
import { errorMessage } from '#runtime/errors.ts';
import { LastKnownGoodStore } from '#runtime/last-known-good.ts';
import { MANIFEST_FILE } from '#runtime/manifest.ts';
import { ModelRuntime } from '#runtime/models.ts';
import { DeferredObjectStore, FsObjectStore, type ObjectStore, s3Description } from '#runtime/object-store.ts';
import { OptimizedGraphs } from '#runtime/optimized-graphs.ts';
import { Registry } from '#runtime/registry.ts';
import { ModelStore } from '#runtime/store.ts';

/**
 * How recently another container must have read (or confirmed) a registry answer for a new
 * one to take it from the cache folder without an S3 request: half the registry's 30-second
 * refresh, so an alias switch reaches a warm container within 30 s and a new one within 45 s.
 * A found manifest is always taken from the folder (a version's manifest never changes);
 * anything the copy says is missing is asked of S3 again.
 */
export const REGISTRY_COPY_FRESH_MS = 15_000;

/** Where, in the model cache folder, the registry's last-known-good metadata is kept (a name cannot start with "."). */
export const REGISTRY_COPY_DIR = '.registry';

/**
 * The registry's object store as the inference functions read it: S3 when a bucket is set
 * (its client imported on the first read, `DeferredObjectStore`), else MODELS_DIR.
 */
export const servingRegistryStore = (c: Config): ObjectStore =>
  c.MODEL_BUCKET
    ? new DeferredObjectStore(s3Description(c.MODEL_BUCKET, c.MODEL_PREFIX), async () =>
        (await import('./registry-store.ts')).registryStore(c),
      )
    : new FsObjectStore(c.MODELS_DIR);

/** Builds registry → store → runtime from a configuration (the composition root). */
export const createModelRuntime = (c: Config = config()): ModelRuntime => {
  // The registry's metadata as last read is kept on the cache folder (EFS): with S3 down,
  // any container resolves names and aliases to the bundles that folder holds.
  const registry = new Registry(
    new LastKnownGoodStore(servingRegistryStore(c), path.join(c.MODEL_CACHE_DIR, REGISTRY_COPY_DIR), {
      onStale: ({ key, error }) =>
        logger.warn('model registry unreachable; using its last copy', { key, error: errorMessage(error) }),
      freshMs: REGISTRY_COPY_FRESH_MS,
      immutable: (key) => key.endsWith(`/${MANIFEST_FILE}`),
    }),
  );
  const store = new ModelStore({ registry, cacheDir: c.MODEL_CACHE_DIR });
  return new ModelRuntime({
    registry,
    store,
    maxEntries: c.MODEL_CACHE_MAX_ENTRIES,
    dispose: async (value) => {
      await (value as { dispose?: () => Promise<void> }).dispose?.();
    },
    onLoaded: ({ key, task, loadMs, optimizedGraphs, bytes }) => {
      metrics.addMetric(MetricName.ModelLoadMs, MetricUnit.Milliseconds, loadMs);
      logger.info('model loaded', { model: key, task, loadMs: Math.round(loadMs), optimizedGraphs });
      reportModelEvent({ kind: 'loaded', key, task, loadMs, memoryBytes: bytes });
    },
    // Shared loaded-state for /models/{model}/status: written without waiting, never failing a load.
    onLoading: ({ key, task }) => reportModelEvent({ kind: 'loading', key, task }),
    onFailed: ({ key, task, error }) => reportModelEvent({ kind: 'failed', key, task, error: errorMessage(error) }),
    onEvicted: ({ key }) => reportModelEvent({ kind: 'evicted', key }),
    onRepaired: ({ key, files }) => logger.warn('cached model files changed; fetched again', { model: key, files }),
    graphs: c.ONNX_OPTIMIZED_CACHE
      ? new OptimizedGraphs({
          cacheDir: c.MODEL_CACHE_DIR,
          onWarning: (message, details) => logger.warn(message, details),
          onBuilt: ({ copy, ms }) => logger.info('optimized graphs built', { dir: copy.dir, ms }),
        })
      : undefined,
  });
};

let shared: ModelRuntime | undefined;
/** The process-wide model runtime, built on first use (Lambda init or the first request). */
export const modelRuntime = (): ModelRuntime => {
  shared ??= createModelRuntime();
  return shared;
};
