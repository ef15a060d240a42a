import { json } from '#http/response.ts';
import { resultCache } from '#predictions/cache.ts';
import { isAdminKey } from '#predictions/scope.ts';
import { config } from '#runtime/config.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { inferenceCounter } from '#tasks/classification/predict.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { predict } from './routes.ts';

/**
 * `GET /v1/status`: this container's loaded models, cold start, memory and cache counters.
 * The activity counters (cache hits, inference counts, each model's hits and last use)
 * count every key's requests: only the stage's admin keys see them.
 */
export const statusRoute: RouteHandlerOf<typeof predict.routes.status> = async ({ coldStart, event }) => {
  const admin = isAdminKey(event.requestContext.identity?.apiKeyId);
  const models = modelRuntime().loaded();
  return json({
    stage: config().STAGE,
    coldStartMs: coldStart.ms ?? null,
    uptimeSeconds: Math.round(process.uptime()),
    memory: process.memoryUsage(),
    models: admin ? models : models.map(({ hits: _hits, lastUsedAt: _lastUsedAt, ...m }) => m),
    resultCache: admin ? (resultCache()?.stats() ?? null) : null,
    inference: admin ? inferenceCounter : null,
  });
};
