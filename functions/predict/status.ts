import { json } from '#http/response.ts';
import { logger } from '#observability/index.ts';
import { resultCache } from '#predictions/cache.ts';
import { modelStates, type SharedModelState } from '#predictions/model-state.ts';
import { isAdminKey } from '#predictions/scope.ts';
import { config } from '#runtime/config.ts';
import { errorMessage } from '#runtime/errors.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { inferenceCounter } from '#tasks/classification/predict.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { predict } from './routes.ts';

interface FunctionModels {
  instances: Set<string>;
  models: Array<{ model: string; task?: string; instances: number; loadMs?: number }>;
}

/**
 * Every function's warm instances and the models they hold, from the shared model state
 * (every version of every registry model, one BatchGet per 100): a function knows only its
 * own process, the table knows them all. Empty lists when the table cannot be read.
 */
const functionsStatus = async () => {
  const out = new Map<string, FunctionModels>(CAPABILITIES.map((fn) => [fn, { instances: new Set(), models: [] }]));
  let states = new Map<string, SharedModelState>();
  try {
    const keys = (await modelRuntime().registry.list()).flatMap((m) => m.versions.map((v) => `${m.name}@${v}`));
    states = await modelStates().readMany(keys);
  } catch (error) {
    logger.warn('model states unreadable', { error: errorMessage(error) });
  }
  for (const [model, state] of states) {
    const byFunction = new Map<string, string[]>();
    for (const holder of state.loadedBy) {
      const fn = holder.split('/')[0]!;
      byFunction.set(fn, [...(byFunction.get(fn) ?? []), holder]);
    }
    for (const [fn, holders] of byFunction) {
      const entry = out.get(fn) ?? { instances: new Set<string>(), models: [] };
      out.set(fn, entry);
      for (const h of holders) entry.instances.add(h);
      entry.models.push({ model, task: state.task, instances: holders.length, loadMs: state.loadMs });
    }
  }
  return Object.fromEntries([...out].map(([fn, e]) => [fn, { instances: e.instances.size, models: e.models }]));
};

/**
 * `GET /v1/status`: every function's models (shared state), then this container's own
 * details. The activity counters (cache hits, inference counts, each model's hits and last
 * use) count every key's requests: only the stage's admin keys see them.
 */
export const statusRoute: RouteHandlerOf<typeof predict.routes.status> = async ({ coldStart, event }) => {
  const admin = isAdminKey(event.requestContext.identity?.apiKeyId);
  const models = modelRuntime().loaded();
  return json({
    stage: config().STAGE,
    functions: await functionsStatus(),
    coldStartMs: coldStart.ms ?? null,
    uptimeSeconds: Math.round(process.uptime()),
    memory: process.memoryUsage(),
    models: admin ? models : models.map(({ hits: _hits, lastUsedAt: _lastUsedAt, ...m }) => m),
    resultCache: admin ? (resultCache()?.stats() ?? null) : null,
    inference: admin ? inferenceCounter : null,
  });
};
