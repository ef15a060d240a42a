import { countEach, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { predictionLog, type RequestRecords } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { detect } from '#tasks/langid/service.ts';

/** Detects the languages of texts (top `k` each), logs one record per text and counts languages. */
export const detectAndLog = async (records: () => RequestRecords, texts: string[], k: number, model?: string) => {
  const out = await detect(modelRuntime(), model ?? config().DEFAULT_DETECT_MODEL, texts, k);
  metrics.addMetric(MetricName.InferenceMs, MetricUnit.Milliseconds, out.inferenceMs);
  countEach(
    MetricName.Detections,
    out.results.map((r) => r.language),
  );
  const log = records();
  await predictionLog().write(
    out.results.map((r, index) =>
      log.record(texts[index]!, index, {
        model: out.model.name,
        version: out.model.version,
        latencyMs: Math.round(out.inferenceMs),
        output: { language: r.language, flores: r.flores, confidence: r.confidence },
      }),
    ),
  );
  return { ...out, requestId: log.requestId };
};
