import { tokensOf } from '#predictions/units.ts';
import { config } from '#runtime/config.ts';
import { defineCapability } from '../spec.ts';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  Completion,
  CompletionChunk,
  CompletionRequest,
  ModelList,
  ModelObject,
  ModelParams,
} from './schemas.ts';

const STREAMING =
  'With `"stream": true` the answer is `text/event-stream`: one `data: <chunk JSON>` event per token as it is generated, then `data: [DONE]`.';

/** The completions function's routes: OpenAI's models, completions and chat completions (one streaming function). */
export const completions = defineCapability('completions', {
  description: 'OpenAI-compatible text generation and chat, with SSE streaming.',
  routes: {
    models: {
      method: 'GET',
      path: '/v1/models',
      streaming: true,
      errorShape: 'openai',
      summary: "The registry's text-generation models (OpenAI list object)",
      response: ModelList,
    },
    model: {
      method: 'GET',
      path: '/v1/models/{id}',
      streaming: true,
      errorShape: 'openai',
      summary: 'One model (OpenAI model object)',
      params: () => ModelParams,
      response: ModelObject,
      examples: () => ({ model: { summary: 'The default model', value: { id: config().DEFAULT_COMPLETIONS_MODEL } } }),
    },
    completions: {
      usage: { unit: 'tokens', amount: (body) => tokensOf(body, 16), heavy: true },
      method: 'POST',
      path: '/v1/completions',
      streaming: true,
      errorShape: 'openai',
      summary: 'OpenAI-compatible text completion',
      description: STREAMING,
      body: () => CompletionRequest(),
      response: Completion,
      streamChunk: CompletionChunk,
      examples: () => {
        const model = config().DEFAULT_COMPLETIONS_MODEL;
        return {
          prompt: {
            summary: 'A seeded completion',
            value: { model, prompt: 'Once upon a time', max_tokens: 16, seed: 7 },
          },
          stream: {
            summary: 'Streamed, with usage',
            value: { model, prompt: 'Hello', max_tokens: 8, stream: true, stream_options: { include_usage: true } },
          },
        };
      },
    },
    chat: {
      usage: { unit: 'tokens', amount: (body) => tokensOf(body, config().MAX_TOKENS_CAP), heavy: true },
      method: 'POST',
      path: '/v1/chat/completions',
      streaming: true,
      errorShape: 'openai',
      summary: 'OpenAI-compatible chat completion (the model’s chat template)',
      description: STREAMING,
      body: () => ChatRequest(),
      response: ChatCompletion,
      streamChunk: ChatCompletionChunk,
      examples: () => {
        const model = config().DEFAULT_COMPLETIONS_MODEL;
        return {
          chat: {
            summary: 'A system and a user message',
            value: {
              model,
              messages: [
                { role: 'system', content: 'You are terse.' },
                { role: 'user', content: 'Say hello.' },
              ],
              max_tokens: 16,
              seed: 7,
            },
          },
          stream: {
            summary: 'Streamed',
            value: { model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, stream: true },
          },
        };
      },
    },
  },
});
