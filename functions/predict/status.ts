import { json } from '#http/response.ts';
import { resultCache } from '#predictions/cache.ts';
import { config } from '#runtime/config.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { inferenceCounter } from '#tasks/classification/predict.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { predict } from './routes.ts';

/** `GET /v1/status`: this container's loaded models, cold start, memory and cache counters. */
export const statusRoute: RouteHandlerOf<typeof predict.routes.status> = async ({ coldStart }) =>
  json({
    stage: config().STAGE,
    coldStartMs: coldStart.ms ?? null,
    uptimeSeconds: Math.round(process.uptime()),
    memory: process.memoryUsage(),
    models: modelRuntime().loaded(),
    resultCache: resultCache()?.stats() ?? null,
    inference: inferenceCounter,
  });
