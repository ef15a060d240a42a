import { z } from 'zod';
import { httpApi } from '#http/api.ts';
import { json } from '#http/response.ts';
import type { ApiEvent } from '#http/types.ts';
import { parseInput } from '#http/validate.ts';
import { countBy, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { inputFields, predictionLog, requestFields } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { predict } from '#tasks/classification/predict.ts';
import { coldStart, markAnswered, modelField, textField, textsField } from '../shared.ts';

const Single = z.strictObject({ text: textField(), model: modelField() });
const Batch = z.strictObject({ texts: textsField(), model: modelField() });

/** Classifies, logs one record per text (one batched write), emits metrics. */
const classify = async (event: ApiEvent, texts: string[], model?: string) => {
  const out = await predict(modelRuntime(), model ?? config().DEFAULT_PREDICT_MODEL, texts);
  metrics.addMetric(MetricName.InferenceMs, MetricUnit.Milliseconds, out.inferenceMs);
  for (const r of out.results) countBy(MetricName.Predictions, 'label', r.label);
  const base = requestFields(event.requestContext);
  const latencyMs = Math.round(out.inferenceMs);
  await predictionLog().write(
    out.results.map((r, index) => ({
      ...base,
      ...inputFields(texts[index]!),
      capability: 'predict',
      model: out.model.name,
      version: out.model.version,
      alias: out.model.alias,
      canary: out.model.canary,
      index,
      latencyMs,
      output: { label: r.label, score: r.score },
    })),
  );
  markAnswered();
  return { out, requestId: base.requestId, model: { name: out.model.name, version: out.model.version } };
};

export const handler = httpApi([
  { method: 'GET', path: '/health', handler: async () => json({ status: 'ok' }) },
  {
    method: 'GET',
    path: '/v1/status',
    handler: async () =>
      json({
        stage: config().STAGE,
        coldStartMs: coldStart() ?? null,
        uptimeSeconds: Math.round(process.uptime()),
        memory: process.memoryUsage(),
        models: modelRuntime().loaded(),
      }),
  },
  {
    method: 'POST',
    path: '/v1/predict',
    handler: async (event) => {
      const body = parseInput(Single, event.body);
      const { out, requestId, model } = await classify(event, [body.text], body.model);
      return json({ ...out.results[0]!, model, requestId });
    },
  },
  {
    method: 'POST',
    path: '/v1/predict/batch',
    handler: async (event) => {
      const body = parseInput(Batch, event.body);
      const { out, requestId, model } = await classify(event, body.texts, body.model);
      return json({ results: out.results, model, requestId });
    },
  },
]);
