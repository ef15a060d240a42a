import { config } from '#runtime/config.ts';
import { defineCapability } from '../spec.ts';
import { InferenceAnswer, inferenceRequests, ModelPathParams, ModelStatus } from './schemas.ts';

/**
 * The models function's routes: Hugging Face Inference Endpoints' per-model URL, answered
 * in the shape of the model's task, and every model's status. Generators' per-model routes
 * (`/models/{model}/generate`, `/models/{model}/v1/…`) stream, so the completions function serves them.
 */
export const models = defineCapability('models', {
  description:
    'Hugging Face Inference Endpoints compatibility: one URL per model (`InferenceClient.endpoint`), answered by its task; per-model status.',
  routes: {
    infer: {
      method: 'POST',
      path: '/models/{model}',
      summary:
        'Run a model as a Hugging Face Inference Endpoint (text-classification, language-identification, translation)',
      description:
        '`{inputs, parameters}`: a classifier or a language identifier answers `[[{label, score}, …]]` (one list per input, highest first), a translator `[{translation_text}]` (`parameters.src_lang`, `parameters.tgt_lang`). Text-generation models: `/models/{model}/generate` and `/models/{model}/v1/chat/completions`.',
      params: () => ModelPathParams,
      body: () => inferenceRequests().Inference,
      response: InferenceAnswer,
      examples: () => ({
        classify: {
          summary: 'A classifier, one text',
          value: { model: config().DEFAULT_PREDICT_MODEL, inputs: 'I love this product' },
        },
        detect: {
          summary: 'A language identifier, two texts, top 2',
          value: {
            model: config().DEFAULT_DETECT_MODEL,
            inputs: ['Bonjour à tous', 'Guten Morgen'],
            parameters: { top_k: 2 },
          },
        },
        translate: {
          summary: 'A translator',
          value: {
            model: config().DEFAULT_TRANSLATE_MODEL,
            inputs: 'Hello, world.',
            parameters: { src_lang: 'en', tgt_lang: 'fr' },
          },
        },
      }),
    },
    status: {
      method: 'GET',
      path: '/models/{model}/status',
      summary: "One model's status across the warm instances of every function",
      params: () => ModelPathParams,
      response: ModelStatus,
      examples: () => ({
        detector: { summary: 'The language identifier', value: { model: config().DEFAULT_DETECT_MODEL } },
      }),
    },
  },
});
