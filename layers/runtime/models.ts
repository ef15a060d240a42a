import { AppError, errorMessage, ModelUnavailableError, oneOf, UnknownModelError } from './errors.ts';
import type { LocalBundle } from './local-bundle.ts';
import type { Manifest, Task } from './manifest.ts';
import { type CacheEntryInfo, ModelCache } from './model-cache.ts';
import type { OptimizedGraphs } from './optimized-graphs.ts';
import type { Registry, ResolvedRef } from './registry.ts';
import type { ModelStore } from './store.ts';

/** A model ready to serve: the loaded value plus which version answered and why. */
export interface LoadedModel<T> extends ResolvedRef {
  value: T;
  manifest: Manifest;
  dir: string;
}

export type Loader<T> = (bundle: LocalBundle) => Promise<T>;

/**
 * Runs one phase of a cold load and records its duration as a `hf-serve:<phase>` measure on
 * Node's performance timeline (fetch, verify, session): the cold-start benchmark reads them
 * to say where the time of a first request goes. Only cold loads add entries.
 */
const timed = async <T>(phase: 'fetch' | 'verify' | 'session', run: () => Promise<T>): Promise<T> => {
  const start = performance.now();
  try {
    return await run();
  } finally {
    performance.measure(`hf-serve:${phase}`, { start });
  }
};

const reasonOf = (result: PromiseSettledResult<unknown>): string | undefined =>
  result.status === 'rejected' ? errorMessage(result.reason) : undefined;

/**
 * The three tiers of model loading in one call: memory (ModelCache) → local cache
 * folder (ModelStore, EFS in Lambda) → registry object store (S3).
 *
 * @example
 * const runtime = new ModelRuntime({ registry, store, maxEntries: 4 });
 * const m = await runtime.load('tiny-distilbert-sentiment@prod', 'text-classification', loadClassifier);
 * m.version; // => '1'
 */
export class ModelRuntime {
  // The cache holds values of every task; the loader of each task knows its type.
  private readonly cache: ModelCache<unknown>;
  private readonly tasks = new Map<string, Task>();

  constructor(
    readonly deps: {
      registry: Registry;
      store: ModelStore;
      maxEntries: number;
      dispose?: (value: unknown) => Promise<void> | void;
      /** Called once per model actually loaded (not on cache hits): metrics hook. */
      onLoaded?: (info: {
        key: string;
        task: Task;
        loadMs: number;
        optimizedGraphs: boolean;
        /** The bundle's bytes (its files, weights first): what the model holds in memory, at least. */
        bytes: number;
      }) => void;
      /** Called when a cold load starts, when one fails, and when a loaded model is evicted. */
      onLoading?: (info: { key: string; task: Task }) => void;
      onFailed?: (info: { key: string; task: Task; error: unknown }) => void;
      onEvicted?: (info: { key: string }) => void;
      /** Called when a cached bundle failed its check and was fetched again. */
      onRepaired?: (info: { key: string; files: string[] }) => void;
      /**
       * Pre-optimised graphs (ONNX_OPTIMIZED_CACHE): a cold load uses this environment's copy
       * when there is one, and queues building it when there is none.
       */
      graphs?: OptimizedGraphs;
    },
  ) {
    this.cache = new ModelCache<unknown>({
      maxEntries: deps.maxEntries,
      dispose: deps.dispose,
      onEvicted: (key) => deps.onEvicted?.({ key }),
    });
  }

  get registry(): Registry {
    return this.deps.registry;
  }

  async load<T>(ref: string, task: Task, loader: Loader<T>, random?: () => number): Promise<LoadedModel<T>> {
    const resolved = await this.deps.registry.resolve(ref, random, task);
    return this.loadResolved(resolved, task, loader);
  }

  async loadResolved<T>(resolved: ResolvedRef, task: Task, loader: Loader<T>): Promise<LoadedModel<T>> {
    const { name, version } = resolved;
    const manifest = await this.deps.registry.manifest(name, version);
    if (!manifest) throw new UnknownModelError(`Model ${name}@${version} is not in the registry.`);
    if (manifest.task !== task) {
      const candidates = (await this.deps.registry.list(task)).map((m) => m.name);
      throw new UnknownModelError(
        `Model ${JSON.stringify(name)} is a ${manifest.task} model; this route serves ${task} models: ${oneOf(candidates)}.`,
      );
    }
    const key = `${name}@${version}`;
    this.tasks.set(key, task);
    let bundle: LocalBundle | undefined;
    const value = (await this.cache.get(key, async () => {
      this.deps.onLoading?.({ key, task });
      try {
        const started = performance.now();
        const ensured = await timed('fetch', () => this.deps.store.ensure(name, version));
        const loaded = await this.loadChecked(ensured, loader);
        bundle = loaded.bundle;
        const loadMs = performance.now() - started;
        this.deps.onLoaded?.({
          key,
          task,
          loadMs,
          optimizedGraphs: loaded.bundle.optimized !== undefined,
          bytes: manifest.files.reduce((n, f) => n + f.bytes, 0),
        });
        return loaded.value;
      } catch (cause) {
        this.deps.onFailed?.({ key, task, error: cause });
        if (cause instanceof AppError && cause.expose) throw cause;
        throw new ModelUnavailableError(`Model ${key} could not be loaded; retry shortly.`, { cause });
      }
    })) as T;
    return { ...resolved, value, manifest, dir: bundle?.dir ?? this.deps.store.bundleDir(name, version) };
  }

  /**
   * The bytes of a model's files (what its load reads) while this instance has not loaded it
   * or started to; undefined once it has (or when the registry has no such version).
   */
  async coldBytes(resolved: { name: string; version: string }): Promise<number | undefined> {
    if (this.cache.has(`${resolved.name}@${resolved.version}`)) return undefined;
    const manifest = await this.deps.registry.manifest(resolved.name, resolved.version);
    return manifest?.files.reduce((n, f) => n + f.bytes, 0);
  }

  /**
   * Loads a bundle from this environment's pre-optimised graphs when the cache has them,
   * else from the bundle itself, then queues building them (in the background) when there
   * were none or they had changed. A copy that fails its check or its load is discarded and
   * the bundle loaded as if it had none.
   */
  private async loadChecked<T>(bundle: LocalBundle, loader: Loader<T>): Promise<{ bundle: LocalBundle; value: T }> {
    const graphs = this.deps.graphs;
    const copy = await graphs?.find(bundle);
    let rebuild = copy === undefined;
    if (graphs && copy) {
      const attempt = await this.loadOptimized({ ...bundle, optimized: copy }, loader, graphs);
      if (attempt.loaded) return attempt.loaded;
      rebuild = attempt.changed;
    }
    const loaded = await this.loadOriginal(bundle, loader);
    if (rebuild) graphs?.buildLater(loaded.bundle);
    return loaded;
  }

  /**
   * The load from an optimised copy, checked beside it as `loadOriginal` checks a bundle:
   * the copy's graphs against their sha256 and the bundle's other files against the
   * manifest; the bundle's own graphs, which this load does not open, are not read (the
   * ~120 ms of hashing a 67 MB graph would cancel most of what the copy saves). When
   * anything failed, what was loaded is disposed; the copy is dropped when it is at fault
   * (`changed`: its files; or a load that failed on an intact bundle), while a changed
   * bundle file is left to `loadOriginal` to find and repair.
   */
  private async loadOptimized<T>(
    view: LocalBundle & { optimized: NonNullable<LocalBundle['optimized']> },
    loader: Loader<T>,
    graphs: NonNullable<ModelRuntime['deps']['graphs']>,
  ): Promise<{ loaded?: { bundle: LocalBundle; value: T }; changed: boolean }> {
    const replaced = new Set(view.optimized.graphs.map((g) => g.path));
    const [loaded, original, copy] = await Promise.allSettled([
      timed('session', () => loader(view)),
      view.fetched ? Promise.resolve([]) : timed('verify', () => this.deps.store.verify(view, replaced)),
      timed('verify', () => graphs.verify(view.optimized, view)),
    ]);
    const intact = (check: PromiseSettledResult<string[]>) => check.status === 'fulfilled' && check.value.length === 0;
    if (loaded.status === 'fulfilled' && intact(original) && intact(copy)) {
      return { loaded: { bundle: view, value: loaded.value }, changed: false };
    }
    if (loaded.status === 'fulfilled') await this.deps.dispose?.(loaded.value);
    const changed = !intact(copy);
    if (changed || (intact(original) && loaded.status === 'rejected')) {
      await graphs.discard(view.optimized, {
        files: copy.status === 'fulfilled' ? copy.value : undefined,
        error: reasonOf(copy) ?? reasonOf(loaded),
      });
    }
    return { changed };
  }

  /**
   * Loads a bundle; one found in the cache (not fetched by this call) is checked against
   * its manifest at the same time, on every cold load. The check reads every byte: on the
   * 67 MB bench graph (distilbert-base-uncased-shape, q8) sha256 takes ~120 ms (median of
   * 9, 2-core AMD EPYC, warm page cache) and building its session ~190 ms; side by side
   * they contend for the two cores here (~350 ms against ~385 ms one after the other), and
   * with more vCPUs (a Lambda has up to 6) the hash hides behind the session build. A bundle
   * that fails is fetched again (only its changed files) and loaded from the repaired copy;
   * what was loaded from the bad one is disposed.
   */
  private async loadOriginal<T>(bundle: LocalBundle, loader: Loader<T>): Promise<{ bundle: LocalBundle; value: T }> {
    if (bundle.fetched) return { bundle, value: await timed('session', () => loader(bundle)) };
    const [loaded, check] = await Promise.allSettled([
      timed('session', () => loader(bundle)),
      timed('verify', () => this.deps.store.verify(bundle)),
    ]);
    if (check.status === 'fulfilled' && check.value.length === 0) {
      if (loaded.status === 'rejected') throw loaded.reason;
      return { bundle, value: loaded.value };
    }
    if (loaded.status === 'fulfilled') await this.deps.dispose?.(loaded.value);
    if (check.status === 'rejected') throw check.reason;
    const repaired = await this.deps.store.repair(bundle.name, bundle.version);
    this.deps.onRepaired?.({ key: `${bundle.name}@${bundle.version}`, files: check.value });
    return { bundle: repaired, value: await loader(repaired) };
  }

  /** What is loaded, for `/v1/status`. */
  loaded(): Array<CacheEntryInfo & { task?: Task }> {
    return this.cache.info().map((e) => ({ ...e, task: this.tasks.get(e.key) }));
  }
}
