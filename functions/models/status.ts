import { json } from '#http/response.ts';
import { logger } from '#observability/index.ts';
import { modelStates, type SharedModelState } from '#predictions/model-state.ts';
import { errorMessage } from '#runtime/errors.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { pathModel } from '../model-path.ts';
import type { models } from './routes.ts';

/**
 * `GET /models/{model}/status`: the model's state across every function's warm instances
 * (their shared loaded-state items), this instance's own copy first; 404 for a model the
 * registry does not hold. About models, never about keys or their traffic.
 */
export const statusRoute: RouteHandlerOf<typeof models.routes.status> = async ({ params }) => {
  const { resolved, manifest } = await pathModel(params.model);
  const key = `${resolved.name}@${resolved.version}`;
  const own = modelRuntime()
    .loaded()
    .find((m) => m.key === key);
  let shared: SharedModelState | undefined;
  try {
    shared = await modelStates().read(key);
  } catch (error) {
    // The table unreachable: this instance's own knowledge still answers.
    logger.warn('model state unreadable', { model: key, error: errorMessage(error) });
  }
  const status = own ? 'loaded' : (shared?.status ?? 'available');
  const loadMs = own?.loadMs || shared?.loadMs;
  return json({
    model: resolved.name,
    status,
    task: manifest.task,
    version: resolved.version,
    ...(loadMs ? { loadMs } : {}),
    ...(shared?.memoryBytes !== undefined ? { memoryBytes: shared.memoryBytes } : {}),
    instances: Math.max(shared?.instances ?? 0, own ? 1 : 0),
  });
};
