import { httpApi } from '#http/api.ts';
import { json } from '#http/response.ts';
import type { ApiEvent } from '#http/types.ts';
import { parseInput } from '#http/validate.ts';
import { countEach, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { inputFields, predictionLog, requestFields } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { detect } from '#tasks/langid/service.ts';
import { detectRequests } from './contract.ts';

const run = async (event: ApiEvent, texts: string[], k: number, model?: string) => {
  const out = await detect(modelRuntime(), model ?? config().DEFAULT_DETECT_MODEL, texts, k);
  metrics.addMetric(MetricName.InferenceMs, MetricUnit.Milliseconds, out.inferenceMs);
  countEach(
    MetricName.Detections,
    'language',
    out.results.map((r) => r.language),
  );
  const base = requestFields(event.requestContext);
  await predictionLog().write(
    out.results.map((r, index) => ({
      ...base,
      ...inputFields(texts[index]!),
      capability: 'detect',
      model: out.model.name,
      version: out.model.version,
      index,
      latencyMs: Math.round(out.inferenceMs),
      output: { language: r.language, flores: r.flores, confidence: r.confidence },
    })),
  );
  return { ...out, requestId: base.requestId };
};

export const handler = httpApi([
  {
    method: 'POST',
    path: '/v1/detect',
    handler: async (event) => {
      const body = parseInput(detectRequests().Detect, event.body);
      const { results, model, requestId } = await run(event, body.texts ?? [body.text!], body.top_k, body.model);
      return json(body.texts ? { results, model, requestId } : { ...results[0]!, model, requestId });
    },
  },
  {
    method: 'POST',
    path: '/detect',
    form: true,
    handler: async (event) => {
      const { q } = parseInput(detectRequests().LibreDetect, event.body);
      const [r] = (await run(event, [q], 3)).results;
      const candidates = r!.language === 'und' ? [r!] : [r!, ...r!.alternatives];
      return json(
        candidates.map((c) => ({ language: c.language, confidence: Math.round(c.confidence * 10_000) / 100 })),
      );
    },
  },
]);
