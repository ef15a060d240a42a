import { json } from '#http/response.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { completions } from './routes.ts';

/** An OpenAI model object for one registry entry. */
export const modelObject = async (name: string, version: string) => {
  const manifest = await modelRuntime().registry.manifest(name, version);
  return {
    id: name,
    object: 'model',
    created: Math.floor(Date.parse(manifest?.created ?? '1970-01-01T00:00:00Z') / 1000),
    owned_by: manifest?.source.type === 'hub' ? (manifest.source.repo.split('/')[0] ?? 'hf-serve') : 'hf-serve',
    version,
  };
};

/** `GET /v1/models`: the registry's text-generation models as OpenAI's list object. */
export const modelsRoute: RouteHandlerOf<typeof completions.routes.models> = async () => {
  const models = await modelRuntime().registry.list('text-generation');
  return json({ object: 'list', data: await Promise.all(models.map((m) => modelObject(m.name, m.defaultVersion))) });
};
