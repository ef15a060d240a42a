import { countEach, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { resultCache } from '#predictions/cache.ts';
import { type AnswerFields, logAbandoned, predictionLog, type RequestRecords } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import {
  type PredictOptions,
  type PredictOutcome,
  type PredictResult,
  predict,
} from '#tasks/classification/predict.ts';

/** The model as a response shows it. */
export interface ServedModel {
  name: string;
  version: string;
  alias?: string;
  canary?: boolean;
}

/**
 * The served model for the response: name and version always; `alias` and `canary` when
 * the caller named an alias, and `canary: true` whenever a canary split chose the canary
 * version (also behind a bare name's `prod`). Records always carry alias and canary.
 *
 * @example
 * servedModel({ name: 'm', version: '2', alias: 'canary', canary: true }, 'm@canary'); // => { name: 'm', version: '2', alias: 'canary', canary: true }
 */
export const servedModel = (model: PredictOutcome['model'], ref: string): ServedModel => {
  const named = parseModelRef(ref).selector !== undefined && model.alias !== undefined;
  return {
    name: model.name,
    version: model.version,
    ...(named || model.canary ? { alias: model.alias, canary: model.canary } : {}),
  };
};

/** Runs one model over texts through the result cache, counting hits, misses and inference time. */
export const classifyTexts = async (
  ref: string,
  texts: string[],
  { useCache = true, ...options }: Omit<PredictOptions, 'cache'> & { useCache?: boolean } = {},
): Promise<PredictOutcome> => {
  const out = await predict(modelRuntime(), ref, texts, { ...options, cache: useCache ? resultCache() : undefined });
  const hits = out.results.filter((r) => r.cached).length;
  metrics.addMetric(MetricName.CacheHits, MetricUnit.Count, hits);
  metrics.addMetric(MetricName.CacheMisses, MetricUnit.Count, out.results.length - hits);
  if (out.inferenceMs > 0) metrics.addMetric(MetricName.InferenceMs, MetricUnit.Milliseconds, out.inferenceMs);
  countEach(
    MetricName.Predictions,
    out.results.map((r) => r.label),
  );
  return out;
};

/** A result as the API answers it (the cache tier stays internal). */
export const publicResult = ({ source: _source, ...r }: PredictResult) => r;

/** What the record of text `index` says of its answer; `extra` adds compare/ensemble fields. */
export const answerOf = (out: PredictOutcome, index: number, extra: Partial<AnswerFields> = {}): AnswerFields => {
  const r = out.results[index]!;
  return {
    model: out.model.name,
    version: out.model.version,
    alias: out.model.alias,
    canary: out.model.canary,
    latencyMs: Math.round(out.latencyMs),
    cached: r.cached,
    output: { label: r.label, score: r.score },
    ...extra,
  };
};

/** `/v1/predict` and `/v1/predict/batch` with one model: classify, log one record per text. */
export const classifyAndLog = async (
  records: () => RequestRecords,
  texts: string[],
  ref: string,
  { useCache = true, signal }: { useCache?: boolean; signal?: AbortSignal } = {},
) => {
  const log = records();
  const out = await classifyTexts(ref, texts, { tenant: log.tenant, useCache, signal }).catch((error: unknown) => {
    // Stopped between mini-batches (the deadline, the client gone): the records say how it ended.
    const { name, selector } = parseModelRef(ref);
    logAbandoned(log, texts, { model: name, version: selector ?? '' }, error, signal);
    throw error;
  });
  predictionLog().write(texts.map((text, i) => log.record(text, i, answerOf(out, i))));
  return { results: out.results.map(publicResult), model: servedModel(out.model, ref), requestId: log.requestId };
};

/** The default model loaded and run once: what provisioned concurrency does during init. */
export const warmDefaultModel = () => predict(modelRuntime(), config().DEFAULT_PREDICT_MODEL, ['Hello, world']);
