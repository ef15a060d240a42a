import { AppError, ModelUnavailableError, oneOf, UnknownModelError } from './errors.ts';
import type { Manifest, Task } from './manifest.ts';
import { type CacheEntryInfo, ModelCache } from './model-cache.ts';
import type { Registry, ResolvedRef } from './registry.ts';
import type { LocalBundle, ModelStore } from './store.ts';

/** A model ready to serve: the loaded value plus which version answered and why. */
export interface LoadedModel<T> extends ResolvedRef {
  value: T;
  manifest: Manifest;
  dir: string;
}

export type Loader<T> = (bundle: LocalBundle) => Promise<T>;

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
      onLoaded?: (info: { key: string; task: Task; loadMs: number }) => void;
    },
  ) {
    this.cache = new ModelCache<unknown>({ maxEntries: deps.maxEntries, dispose: deps.dispose });
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
      try {
        const started = performance.now();
        bundle = await this.deps.store.ensure(name, version);
        const value = await loader(bundle);
        this.deps.onLoaded?.({ key, task, loadMs: performance.now() - started });
        return value;
      } catch (cause) {
        if (cause instanceof AppError && cause.expose) throw cause;
        throw new ModelUnavailableError(`Model ${key} could not be loaded; retry shortly.`, { cause });
      }
    })) as T;
    return { ...resolved, value, manifest, dir: bundle?.dir ?? this.deps.store.bundleDir(name, version) };
  }

  /** What is loaded, for `/v1/status`. */
  loaded(): Array<CacheEntryInfo & { task?: Task }> {
    return this.cache.info().map((e) => ({ ...e, task: this.tasks.get(e.key) }));
  }
}
