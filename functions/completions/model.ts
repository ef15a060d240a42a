import { json } from '#http/response.ts';
import { ModelNotFoundError } from '#runtime/errors.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { modelObject } from './models.ts';
import type { completions } from './routes.ts';

/** `GET /v1/models/{id}`: one model of any task; `id` may name a version or an alias. */
export const modelRoute: RouteHandlerOf<typeof completions.routes.model> = async ({ params }) => {
  const { id } = params;
  const found = (await modelRuntime().registry.list()).find((m) => m.name === parseModelRef(id).name);
  if (!found) {
    throw new ModelNotFoundError(`The model ${JSON.stringify(id)} does not exist; GET /v1/models lists the models.`);
  }
  const resolved = await modelRuntime().registry.resolve(id, () => 1);
  return json({ ...(await modelObject(found, resolved.version)), id });
};
