import { z } from 'zod';
import { config } from '#runtime/config.ts';
import type { Operations } from '../contract.ts';
import { ChatRequest, CompletionRequest } from './openai.ts';

/**
 * Response schemas of the completions function's routes (OpenAI's shapes) and their
 * documentation; the request schemas are in `openai.ts`.
 */

const ModelObject = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    created: z.number().meta({ description: 'Unix seconds.' }),
    owned_by: z.string(),
    version: z.string().meta({ description: 'Not in OpenAI’s object: the version the id resolves to.' }),
  })
  .meta({ id: 'Model' });
const FinishReason = z.enum(['stop', 'length']).nullable();
const Usage = z
  .object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() })
  .meta({ id: 'Usage' });
const Envelope = {
  id: z.string(),
  created: z.number(),
  model: z.string().meta({ description: 'name@version that answered.' }),
  system_fingerprint: z.null(),
};
const Completion = z
  .object({
    ...Envelope,
    object: z.literal('text_completion'),
    choices: z.array(
      z.object({ index: z.number(), text: z.string(), logprobs: z.null(), finish_reason: FinishReason }),
    ),
    usage: Usage,
  })
  .meta({ id: 'Completion' });
const ChatCompletion = z
  .object({
    ...Envelope,
    object: z.literal('chat.completion'),
    choices: z.array(
      z.object({
        index: z.number(),
        message: z.object({ role: z.literal('assistant'), content: z.string() }),
        logprobs: z.null(),
        finish_reason: FinishReason,
      }),
    ),
    usage: Usage,
  })
  .meta({ id: 'ChatCompletion' });
/** A streamed chunk of a completion: the same object, usage only on the last chunk. */
const CompletionChunk = Completion.extend({
  usage: Usage.nullable().optional().meta({ description: 'With stream_options.include_usage; the last chunk.' }),
}).meta({ id: 'CompletionChunk' });
const ChatCompletionChunk = z
  .object({
    ...Envelope,
    object: z.literal('chat.completion.chunk'),
    choices: z.array(
      z.object({
        index: z.number(),
        delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
        logprobs: z.null(),
        finish_reason: FinishReason,
      }),
    ),
    usage: Usage.nullable().optional().meta({ description: 'With stream_options.include_usage; the last chunk.' }),
  })
  .meta({ id: 'ChatCompletionChunk' });

const STREAMING =
  'With `"stream": true` the answer is `text/event-stream`: one `data: <chunk JSON>` event per token as it is generated, then `data: [DONE]`.';

export const completionsOperations = (): Operations => {
  const model = config().DEFAULT_COMPLETIONS_MODEL;
  return {
    'GET /v1/models': {
      summary: "The registry's text-generation models (OpenAI list object)",
      response: z.object({ object: z.literal('list'), data: z.array(ModelObject) }),
    },
    'GET /v1/models/{id}': {
      summary: 'One model (OpenAI model object)',
      path: z.object({ id: z.string().meta({ description: 'name, name@version or name@alias' }) }),
      response: ModelObject,
      examples: { model: { summary: 'The default model', value: { id: model } } },
    },
    'POST /v1/completions': {
      summary: 'OpenAI-compatible text completion',
      description: STREAMING,
      body: CompletionRequest(),
      response: Completion,
      streamChunk: CompletionChunk,
      examples: {
        prompt: {
          summary: 'A seeded completion',
          value: { model, prompt: 'Once upon a time', max_tokens: 16, seed: 7 },
        },
        stream: {
          summary: 'Streamed, with usage',
          value: { model, prompt: 'Hello', max_tokens: 8, stream: true, stream_options: { include_usage: true } },
        },
      },
    },
    'POST /v1/chat/completions': {
      summary: 'OpenAI-compatible chat completion (the model’s chat template)',
      description: STREAMING,
      body: ChatRequest(),
      response: ChatCompletion,
      streamChunk: ChatCompletionChunk,
      examples: {
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
      },
    },
  };
};
