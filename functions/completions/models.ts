import { json } from '#http/response.ts';
import { logger } from '#observability/index.ts';
import { modelStates } from '#predictions/model-state.ts';
import { errorMessage } from '#runtime/errors.ts';
import type { ModelSummary } from '#runtime/registry.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { completions } from './routes.ts';

/** Whether a warm instance of any function has `name@version` loaded: this one, else the shared state. */
const isLoaded = async (key: string): Promise<boolean> => {
  if (
    modelRuntime()
      .loaded()
      .some((m) => m.key === key)
  )
    return true;
  try {
    return (await modelStates().read(key))?.status === 'loaded';
  } catch (error) {
    logger.warn('model state unreadable', { model: key, error: errorMessage(error) });
    return false;
  }
};

/** An OpenAI model object for one registry entry, with what OpenAI's lacks (task, versions, aliases, loaded). */
export const modelObject = async (summary: ModelSummary, version = summary.defaultVersion) => {
  const manifest = await modelRuntime().registry.manifest(summary.name, version);
  return {
    id: summary.name,
    object: 'model',
    created: Math.floor(Date.parse(manifest?.created ?? '1970-01-01T00:00:00Z') / 1000),
    owned_by: manifest?.source.type === 'hub' ? (manifest.source.repo.split('/')[0] ?? 'hf-serve') : 'hf-serve',
    version,
    task: summary.task,
    versions: summary.versions,
    aliases: Object.fromEntries(Object.entries(summary.aliases).map(([alias, a]) => [alias, a.version])),
    loaded: await isLoaded(`${summary.name}@${version}`),
  };
};

/** `GET /v1/models`: every served model of every task (or of `?task=`) as OpenAI's list object. */
export const modelsRoute: RouteHandlerOf<typeof completions.routes.models> = async ({ query }) => {
  const models = await modelRuntime().registry.list(query.task);
  return json({ object: 'list', data: await Promise.all(models.map((m) => modelObject(m))) });
};
