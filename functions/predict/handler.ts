import type { z } from 'zod';
import { httpApi } from '#http/api.ts';
import { coldStart } from '#http/cold-start.ts';
import { json } from '#http/response.ts';
import { parseInput } from '#http/validate.ts';
import { resultCache } from '#predictions/cache.ts';
import { config } from '#runtime/config.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { inferenceCounter } from '#tasks/classification/predict.ts';
import { summaryRoute, timeseriesRoute } from './analytics.ts';
import { classifyAndLog } from './classify.ts';
import { compareRoute } from './compare.ts';
import { predictRequests } from './contract.ts';
import { ensembleAndLog } from './ensemble.ts';

type Batch = z.infer<ReturnType<typeof predictRequests>['Batch']>;

/** One model or an ensemble over texts; both log their records. */
const answer = (event: Parameters<typeof classifyAndLog>[0], texts: string[], body: Batch) =>
  body.ensemble
    ? ensembleAndLog(event, texts, body.ensemble)
    : classifyAndLog(event, texts, body.model ?? config().DEFAULT_PREDICT_MODEL);

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
        resultCache: resultCache()?.stats() ?? null,
        inference: inferenceCounter,
      }),
  },
  {
    method: 'POST',
    path: '/v1/predict',
    handler: async (event) => {
      const body = parseInput(predictRequests().Single, event.body);
      const { results, ...rest } = await answer(event, [body.text], { ...body, texts: [body.text] });
      return json({ ...results[0]!, ...rest });
    },
  },
  {
    method: 'POST',
    path: '/v1/predict/batch',
    handler: async (event) => {
      const body = parseInput(predictRequests().Batch, event.body);
      return json(await answer(event, body.texts, body));
    },
  },
  { method: 'POST', path: '/v1/predict/compare', handler: compareRoute },
  { method: 'GET', path: '/v1/analytics/summary', handler: summaryRoute },
  { method: 'GET', path: '/v1/analytics/timeseries', handler: timeseriesRoute },
]);
