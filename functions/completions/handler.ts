import { httpApi } from '#http/api.ts';
import { json } from '#http/response.ts';
import { AppError } from '#runtime/errors.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { chatJob, completionJob } from './jobs.ts';
import { serve } from './serve.ts';

/** An OpenAI model object for one registry entry. */
const modelObject = async (name: string, version: string) => {
  const manifest = await modelRuntime().registry.manifest(name, version);
  return {
    id: name,
    object: 'model',
    created: Math.floor(Date.parse(manifest?.created ?? '1970-01-01T00:00:00Z') / 1000),
    owned_by: manifest?.source.type === 'hub' ? (manifest.source.repo.split('/')[0] ?? 'hf-serve') : 'hf-serve',
    version,
  };
};

/** OpenAI-compatible text generation: one response-streaming function, OpenAI error shapes. */
export const handler = httpApi(
  [
    {
      method: 'GET',
      path: '/v1/models',
      errorShape: 'openai',
      handler: async () => {
        const models = await modelRuntime().registry.list('text-generation');
        return json({
          object: 'list',
          data: await Promise.all(models.map((m) => modelObject(m.name, m.defaultVersion))),
        });
      },
    },
    {
      method: 'GET',
      path: '/v1/models/{id}',
      errorShape: 'openai',
      handler: async (event) => {
        const id = event.pathParameters?.id ?? '';
        const found = (await modelRuntime().registry.list('text-generation')).find(
          (m) => m.name === parseModelRef(id).name,
        );
        if (!found)
          throw new AppError(
            404,
            'model_not_found',
            `The model ${JSON.stringify(id)} does not exist; GET /v1/models lists the models.`,
            { param: 'model' },
          );
        const resolved = await modelRuntime().registry.resolve(id);
        return json({ ...(await modelObject(resolved.name, resolved.version)), id });
      },
    },
    {
      method: 'POST',
      path: '/v1/completions',
      errorShape: 'openai',
      handler: (event, context) => serve(event, context, completionJob(event.body)),
    },
    {
      method: 'POST',
      path: '/v1/chat/completions',
      errorShape: 'openai',
      handler: (event, context) => serve(event, context, chatJob(event.body)),
    },
  ],
  { streaming: true },
);
