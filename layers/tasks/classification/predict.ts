import type { ModelRuntime } from '#runtime/models.ts';
import type { ResolvedRef } from '#runtime/registry.ts';
import { type CacheSource, resultCacheKey, type TieredResultCache } from '#runtime/result-cache.ts';
import { type Classification, type Classifier, loadClassifier } from './index.ts';

/** One text's answer and where it came from. */
export interface PredictResult extends Classification {
  /** True when the answer came from the result cache (no inference for this text). */
  cached: boolean;
  source: CacheSource;
}

export interface PredictOutcome {
  model: { name: string; version: string; alias?: string; canary: boolean };
  results: PredictResult[];
  /** Time in the classifier (0 when every text was a cache hit). */
  inferenceMs: number;
  /** Time of the whole call: resolve, cache lookup, load, inference, cache fill. */
  latencyMs: number;
}

export interface PredictOptions {
  /** Result cache (memory, then shared); without it every text runs inference. */
  cache?: TieredResultCache<Classification>;
  /** Decides canary splits; injectable so tests can pin it. */
  random?: () => number;
  /** A version already resolved (compare, ensembles): skips resolution. */
  resolved?: ResolvedRef;
  /** The caller's namespace in the cache (hashed key id): no hits across keys. */
  tenant?: string;
  /** The invocation's signal: checked before the model loads and between mini-batches. */
  signal?: AbortSignal;
}

/**
 * Texts actually sent to a classifier by this process: the proof that a cache hit
 * skipped inference (shown on `/v1/status`).
 */
export const inferenceCounter = { calls: 0, texts: 0 };

/** The options that change a classification answer; part of the cache key. */
const CLASSIFY_OPTIONS = {};

/**
 * The work of `/v1/predict` and `/v1/predict/batch`: resolve the model reference to one
 * version (canary splits included), answer what the result cache knows, load (or reuse)
 * the classifier only for the rest, classify them, fill the cache. Plain code: callable
 * from a test, a benchmark or the CLI.
 *
 * @example
 * const out = await predict(runtime, 'tiny-distilbert-sentiment@1', ['great', 'awful']);
 * out.results.length; // => 2, in input order; out.results[0].cached => false
 */
export const predict = async (
  runtime: ModelRuntime,
  modelRef: string,
  texts: string[],
  options: PredictOptions = {},
): Promise<PredictOutcome> => {
  const started = performance.now();
  const resolved =
    options.resolved ?? (await runtime.registry.resolve(modelRef, options.random, 'text-classification'));
  const at = `${resolved.name}@${resolved.version}`;
  const keys = texts.map((text) => resultCacheKey(at, CLASSIFY_OPTIONS, text, options.tenant));
  const found = options.cache ? await options.cache.lookup(keys, at, await runtime.coldBytes(resolved)) : new Map();
  const missing = texts.map((_, i) => i).filter((i) => !found.has(keys[i]!));
  const fresh = new Map<string, Classification>();
  let inferenceMs = 0;
  if (missing.length > 0) {
    options.signal?.throwIfAborted();
    const loaded = await runtime.loadResolved<Classifier>(resolved, 'text-classification', (bundle) =>
      loadClassifier(bundle),
    );
    // Identical texts in one batch are classified once.
    const unique = [...new Map(missing.map((i) => [keys[i]!, texts[i]!])).entries()];
    const inferStarted = performance.now();
    const answers = await loaded.value.classify(
      unique.map(([, text]) => text),
      { signal: options.signal },
    );
    inferenceMs = performance.now() - inferStarted;
    inferenceCounter.calls += 1;
    inferenceCounter.texts += unique.length;
    for (const [i, [key]] of unique.entries()) fresh.set(key, answers[i]!);
    await options.cache?.fill([...fresh.entries()], at, inferenceMs);
  }
  const results = keys.map((key): PredictResult => {
    const hit = found.get(key);
    if (hit) return { ...hit.value, cached: true, source: hit.source };
    return { ...fresh.get(key)!, cached: false, source: 'inference' };
  });
  return {
    model: { name: resolved.name, version: resolved.version, alias: resolved.alias, canary: resolved.canary },
    results,
    inferenceMs,
    latencyMs: performance.now() - started,
  };
};
