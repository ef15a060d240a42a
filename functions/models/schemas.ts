import * as z from 'zod';
import { TASKS } from '#runtime/manifest.ts';
import { perConfig, shortString, textField, textsField } from '../schemas.ts';

/**
 * Hugging Face Inference Endpoints' request and answer shapes (`/models/{model}`), as
 * `@huggingface/inference`'s InferenceClient sends and parses them. Unknown fields are
 * ignored, as Hugging Face's servers do: clients send options this server has no use for.
 */
export const ModelPathParams = z.object({
  model: shortString('must be a string', 'a model id')
    .min(1)
    .meta({ description: 'The model: "name" (its prod alias), "name@version" or "name@alias" (GET /v1/models).' }),
});

export const inferenceRequests = perConfig(() => ({
  Inference: z.object({
    inputs: z.union([textField(), textsField()], { error: 'must be a string or a list of strings' }),
    parameters: z
      .object({
        top_k: z
          .number()
          .int()
          .min(1, 'must be at least 1')
          .max(200, 'must be at most 200')
          .optional()
          .meta({ description: 'Labels per text (classification: all by default; language identification: 5).' }),
        src_lang: shortString('must be a string', 'a language code')
          .min(1)
          .optional()
          .meta({ description: 'Translation: the source language (ISO 639-1 or FLORES-200); detected when absent.' }),
        tgt_lang: shortString('must be a string', 'a language code')
          .min(1)
          .optional()
          .meta({ description: 'Translation: the target language (ISO 639-1 or FLORES-200); required.' }),
      })
      .optional(),
  }),
}));
export type InferenceRequest = z.infer<ReturnType<typeof inferenceRequests>['Inference']>;

const LabelScore = z.object({ label: z.string(), score: z.number() }).meta({ id: 'LabelScore' });
export const InferenceAnswer = z
  .union([
    z.array(z.array(LabelScore)).meta({
      description:
        'text-classification and language-identification: one list per input, every label (or `top_k`) highest first.',
    }),
    z.array(z.object({ translation_text: z.string() })).meta({ description: 'translation: one object per input.' }),
  ])
  .meta({ id: 'InferenceAnswer' });

export const ModelStatus = z
  .object({
    model: z.string(),
    status: z.enum(['loaded', 'available', 'loading', 'failed']).meta({
      description:
        'loaded: a warm instance holds it; loading: one is loading it; failed: its last load failed; available: in the registry, loaded on first use.',
    }),
    task: z.enum(TASKS),
    version: z.string(),
    loadMs: z.number().optional().meta({ description: 'How long its last cold load took.' }),
    memoryBytes: z.number().optional().meta({ description: "The bundle's bytes a loaded instance holds." }),
    instances: z.number().meta({ description: 'Warm instances that reported it loaded.' }),
  })
  .meta({ id: 'ModelStatus' });
