import { countEach, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { resultCacheOf } from '#predictions/cache.ts';
import { predictionLog, type RequestRecords } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { resultCacheKey, throughCache } from '#runtime/result-cache.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { type ApiDetectResult, type DetectOutcome, detect } from '#tasks/langid/service.ts';

/**
 * Detects through the result cache (keyed by the caller's key, the resolved model
 * version, `top_k` and the text; `cache: false` skips it): only texts it lacks reach the
 * model. Answers as `detect` does, each result marked `cached`.
 */
const detectCached = async (
  texts: string[],
  topK: number,
  opts: { model?: string | undefined; cache?: boolean | undefined; tenant: string | undefined },
): Promise<Omit<DetectOutcome, 'results'> & { results: Array<ApiDetectResult & { cached: boolean }> }> => {
  const runtime = modelRuntime();
  const resolved = await runtime.registry.resolve(
    opts.model ?? config().DEFAULT_DETECT_MODEL,
    undefined,
    'language-identification',
  );
  const at = `${resolved.name}@${resolved.version}`;
  const keys = texts.map((text) => resultCacheKey(at, { topK }, text, opts.tenant));
  const cache = opts.cache === false ? undefined : resultCacheOf<ApiDetectResult>('detect');
  const out = await throughCache(
    cache,
    keys,
    at,
    async (missing) => {
      const fresh = await detect(
        runtime,
        at,
        missing.map((i) => texts[i]!),
        topK,
      );
      return { values: fresh.results, inferenceMs: fresh.inferenceMs };
    },
    cache ? await runtime.coldBytes(resolved) : undefined,
  );
  const hits = out.cached.filter(Boolean).length;
  metrics.addMetric(MetricName.CacheHits, MetricUnit.Count, hits);
  metrics.addMetric(MetricName.CacheMisses, MetricUnit.Count, out.cached.length - hits);
  return {
    model: { name: resolved.name, version: resolved.version },
    results: out.values.map((r, i) => ({ ...r, cached: out.cached[i]! })),
    inferenceMs: out.computeMs,
  };
};

/** Detects the languages of texts (top `k` each, through the result cache), logs one record per text and counts languages. */
export const detectAndLog = async (
  records: () => RequestRecords,
  texts: string[],
  k: number,
  model?: string,
  options: { cache?: boolean | undefined } = {},
) => {
  const log = records();
  const out = await detectCached(texts, k, { model, cache: options.cache, tenant: log.tenant });
  if (out.inferenceMs > 0) metrics.addMetric(MetricName.InferenceMs, MetricUnit.Milliseconds, out.inferenceMs);
  countEach(
    MetricName.Detections,
    out.results.map((r) => r.language),
  );
  predictionLog().write(
    out.results.map((r, index) =>
      log.record(texts[index]!, index, {
        model: out.model.name,
        version: out.model.version,
        latencyMs: Math.round(out.inferenceMs),
        cached: r.cached,
        output: { language: r.language, flores: r.flores, confidence: r.confidence },
      }),
    ),
  );
  return { ...out, requestId: log.requestId };
};

/** The default model loaded and run once: what provisioned concurrency does during init. */
export const warmDefaultModel = () => detect(modelRuntime(), config().DEFAULT_DETECT_MODEL, ['Hello, world'], 1);
