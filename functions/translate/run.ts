import { countEach, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { predictionLog, type RequestRecords } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { findLanguage } from '#tasks/languages/index.ts';
import { supportedLanguages } from '#tasks/translation/index.ts';
import { loadTranslation, type TranslateRequest, translate } from '#tasks/translation/service.ts';

/** Translates, logs one record per text and counts characters and language pairs. */
export const translateAndLog = async (
  records: () => RequestRecords,
  req: Omit<TranslateRequest, 'model' | 'detectModel'> & { model?: string },
) => {
  const out = await translate(modelRuntime(), {
    ...req,
    model: req.model ?? config().DEFAULT_TRANSLATE_MODEL,
    detectModel: config().DEFAULT_DETECT_MODEL,
  });
  metrics.addMetric(MetricName.InferenceMs, MetricUnit.Milliseconds, out.inferenceMs);
  metrics.addMetric(MetricName.CharactersTranslated, MetricUnit.Count, out.characters);
  countEach(
    MetricName.Translations,
    out.translations.map((t) => `${t.source}>${out.target}`),
  );
  const log = records();
  await predictionLog().write(
    out.translations.map((t, index) =>
      log.record(req.texts[index]!, index, {
        model: out.model.name,
        version: out.model.version,
        latencyMs: Math.round(out.inferenceMs),
        output: { source: t.source, target: out.target, detected: t.detected, outputLength: t.text.length },
      }),
    ),
  );
  return { ...out, requestId: log.requestId };
};

export const languages = async () =>
  supportedLanguages((await loadTranslation(modelRuntime(), config().DEFAULT_TRANSLATE_MODEL)).value);
export const libreCode = (flores: string) => findLanguage(flores)?.iso639_1 ?? flores;
