import { z } from 'zod';
import { httpApi } from '#http/api.ts';
import { json } from '#http/response.ts';
import type { ApiEvent } from '#http/types.ts';
import { parseInput } from '#http/validate.ts';
import { countEach, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { inputFields, predictionLog, requestFields } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { detect } from '#tasks/langid/service.ts';
import { markAnswered, modelField, textField, textsField } from '../shared.ts';

const topK = z.number().int().min(1, 'must be at least 1').max(10, 'must be at most 10').default(3);
const Detect = z
  .strictObject({ text: textField().optional(), texts: textsField().optional(), top_k: topK, model: modelField() })
  .refine(
    (b) => (b.text === undefined) !== (b.texts === undefined),
    'send either "text" (one string) or "texts" (a list)',
  );
/** LibreTranslate's `/detect`: `q` and an optional `api_key` (the key itself must be in x-api-key). */
const LibreDetect = z.object({ q: textField(), api_key: z.string().optional() });

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
  markAnswered();
  return { ...out, requestId: base.requestId };
};

export const handler = httpApi([
  {
    method: 'POST',
    path: '/v1/detect',
    handler: async (event) => {
      const body = parseInput(Detect, event.body);
      const { results, model, requestId } = await run(event, body.texts ?? [body.text!], body.top_k, body.model);
      return json(body.texts ? { results, model, requestId } : { ...results[0]!, model, requestId });
    },
  },
  {
    method: 'POST',
    path: '/detect',
    form: true,
    handler: async (event) => {
      const { q } = parseInput(LibreDetect, event.body);
      const [r] = (await run(event, [q], 3)).results;
      const candidates = r!.language === 'und' ? [r!] : [r!, ...r!.alternatives];
      return json(
        candidates.map((c) => ({ language: c.language, confidence: Math.round(c.confidence * 10_000) / 100 })),
      );
    },
  },
]);
