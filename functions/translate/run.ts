import { countEach, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { resultCacheOf } from '#predictions/cache.ts';
import { logAbandoned, predictionLog, type RequestRecords } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { resultCacheKey, throughCache } from '#runtime/result-cache.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { findLanguage } from '#tasks/languages/index.ts';
import { supportedLanguages } from '#tasks/translation/index.ts';
import {
  loadTranslation,
  type TranslateOutcome,
  type TranslateRequest,
  translate,
} from '#tasks/translation/service.ts';

/** What the result cache keeps of one text's translation (the resolved target too). */
type CachedTranslation = TranslateOutcome['translations'][number] & { target: string };

/**
 * Translates through the result cache (keyed by the caller's key, the resolved model
 * version, the options as sent and the text; `cache: false` skips it), so only texts it
 * lacks reach the model. Answers as `translate` does, each translation marked `cached`.
 */
const translateCached = async (
  req: Omit<TranslateRequest, 'model' | 'detectModel'> & { model?: string; cache?: boolean },
  tenant: string | undefined,
): Promise<
  Omit<TranslateOutcome, 'translations'> & { translations: Array<CachedTranslation & { cached: boolean }> }
> => {
  const runtime = modelRuntime();
  const detectModel = config().DEFAULT_DETECT_MODEL;
  const resolved = await runtime.registry.resolve(
    req.model ?? config().DEFAULT_TRANSLATE_MODEL,
    undefined,
    'translation',
  );
  const at = `${resolved.name}@${resolved.version}`;
  const options = {
    target: req.target,
    source: req.source ?? 'auto',
    numBeams: req.numBeams,
    maxNewTokens: req.maxNewTokens,
    splitSentences: req.splitSentences,
    // HTML and alternatives change the answer: part of the key (absent, they leave it as it was).
    format: req.format === 'html' ? 'html' : undefined,
    alternatives: req.alternatives || undefined,
    detectModel,
  };
  const keys = req.texts.map((text) => resultCacheKey(at, options, text, tenant));
  const cache = req.cache === false ? undefined : resultCacheOf<CachedTranslation>('translate');
  let target: string | undefined;
  const out = await throughCache(
    cache,
    keys,
    at,
    async (missing) => {
      const fresh = await translate(runtime, {
        ...req,
        texts: missing.map((i) => req.texts[i]!),
        model: at,
        detectModel,
      });
      target = fresh.target;
      return {
        values: fresh.translations.map((t) => ({ ...t, target: fresh.target })),
        inferenceMs: fresh.inferenceMs,
      };
    },
    cache ? await runtime.coldBytes(resolved) : undefined,
  );
  const hits = out.cached.filter(Boolean).length;
  metrics.addMetric(MetricName.CacheHits, MetricUnit.Count, hits);
  metrics.addMetric(MetricName.CacheMisses, MetricUnit.Count, out.cached.length - hits);
  return {
    model: { name: resolved.name, version: resolved.version },
    target: target ?? out.values[0]!.target,
    translations: out.values.map((t, i) => ({ ...t, cached: out.cached[i]! })),
    characters: req.texts.reduce((n, t) => n + t.length, 0),
    inferenceMs: out.computeMs,
  };
};

/** Translates (through the result cache), logs one record per text and counts characters and language pairs. */
export const translateAndLog = async (
  records: () => RequestRecords,
  req: Omit<TranslateRequest, 'model' | 'detectModel'> & { model?: string; cache?: boolean },
) => {
  const log = records();
  const out = await translateCached(req, log.tenant).catch((error: unknown) => {
    // Out of time or abandoned mid-work: the records say so (nothing was delivered), then the error goes on.
    const { name, selector } = parseModelRef(req.model ?? config().DEFAULT_TRANSLATE_MODEL);
    logAbandoned(log, req.texts, { model: name, version: selector ?? '' }, error, req.signal);
    throw error;
  });
  if (out.inferenceMs > 0) metrics.addMetric(MetricName.InferenceMs, MetricUnit.Milliseconds, out.inferenceMs);
  metrics.addMetric(MetricName.CharactersTranslated, MetricUnit.Count, out.characters);
  countEach(
    MetricName.Translations,
    out.translations.map((t) => `${t.source}>${out.target}`),
  );
  predictionLog().write(
    out.translations.map((t, index) =>
      log.record(req.texts[index]!, index, {
        model: out.model.name,
        version: out.model.version,
        latencyMs: Math.round(out.inferenceMs),
        cached: t.cached,
        output: { source: t.source, target: out.target, detected: t.detected, outputLength: t.text.length },
      }),
    ),
  );
  return { ...out, requestId: log.requestId };
};

export const languages = async () =>
  supportedLanguages((await loadTranslation(modelRuntime(), config().DEFAULT_TRANSLATE_MODEL)).value);
export const libreCode = (flores: string) => findLanguage(flores)?.iso639_1 ?? flores;

/** The default model loaded: what provisioned concurrency does during init. */
export const warmDefaultModel = () => loadTranslation(modelRuntime(), config().DEFAULT_TRANSLATE_MODEL);
