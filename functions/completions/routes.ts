import { tokensOf } from '#predictions/units.ts';
import { config } from '#runtime/config.ts';
import { ModelPathParams } from '../models/schemas.ts';
import { ImportJobView } from '../schemas.ts';
import { defineCapability } from '../spec.ts';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  Completion,
  CompletionChunk,
  CompletionRequest,
  EndpointChatRequest,
  EndpointCompletionRequest,
  GENERATE_DEFAULT_NEW_TOKENS,
  Generated,
  GeneratedToken,
  GenerateRequest,
  ImportParams,
  ImportQuery,
  ModelList,
  ModelObject,
  ModelParams,
  ModelQuery,
} from './schemas.ts';

const STREAMING =
  'With `"stream": true` the answer is `text/event-stream`: one `data: <chunk JSON>` event per token as it is generated, then `data: [DONE]`.';

const HUB_IMPORT =
  '`model` (on the per-model routes: the path, with the slash as `%2F`) may be a Hugging Face id, `org/name` or `org/name@revision`: when the stage allows it (HUB_IMPORT_ALLOW) and the registry does not hold it yet, it is imported and the answer is **202** with the import job, `Retry-After` and `Location` (its status URL); repeat the request once the job is `done`. Outside the allowlist: 403; a failed import: 422 with the reason.';

/** The completions function's routes: OpenAI's models, completions and chat completions (one streaming function). */
export const completions = defineCapability('completions', {
  description: 'OpenAI-compatible text generation and chat, with SSE streaming.',
  routes: {
    models: {
      method: 'GET',
      path: '/v1/models',
      streaming: true,
      errorShape: 'openai',
      summary: 'Every served model, all tasks (OpenAI list object, with task, versions, aliases and loaded)',
      query: () => ModelQuery,
      response: ModelList,
      examples: () => ({ task: { summary: 'Only translators', value: { task: 'translation' } } }),
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
    imports: {
      method: 'GET',
      path: '/v1/imports/{org}/{name}',
      streaming: true,
      errorShape: 'openai',
      summary: 'One Hugging Face import: queued, importing, failed (why) or done (the model it is served as)',
      description: `${HUB_IMPORT} Reading never starts an import.`,
      params: () => ImportParams,
      query: () => ImportQuery,
      response: ImportJobView,
      examples: () => ({
        job: { summary: 'The import of Xenova/tiny-gpt2@main', value: { org: 'Xenova', name: 'tiny-gpt2' } },
      }),
    },
    completions: {
      usage: { unit: 'tokens', amount: (body) => tokensOf(body, 16), heavy: true },
      hubImport: true,
      method: 'POST',
      path: '/v1/completions',
      streaming: true,
      errorShape: 'openai',
      summary: 'OpenAI-compatible text completion',
      description: `${STREAMING} ${HUB_IMPORT}`,
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
      hubImport: true,
      streaming: true,
      errorShape: 'openai',
      summary: 'OpenAI-compatible chat completion (the model’s chat template)',
      description: `${STREAMING} ${HUB_IMPORT}`,
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
    endpointCompletions: {
      usage: { unit: 'tokens', amount: (body) => tokensOf(body, 16), heavy: true },
      method: 'POST',
      path: '/models/{model}/v1/completions',
      hubImport: true,
      streaming: true,
      errorShape: 'openai',
      summary: "One model's OpenAI completion (Hugging Face's textGeneration through InferenceClient.endpoint)",
      description: `The path names the model; a body \`model\` (the client sends the endpoint URL) is ignored. ${STREAMING} ${HUB_IMPORT}`,
      params: () => ModelPathParams,
      body: () => EndpointCompletionRequest(),
      response: Completion,
      streamChunk: CompletionChunk,
      examples: () => ({
        prompt: {
          summary: 'A greedy completion',
          value: {
            model: config().DEFAULT_COMPLETIONS_MODEL,
            prompt: 'Once upon a time',
            max_tokens: 8,
            temperature: 0,
          },
        },
      }),
    },
    endpointChat: {
      usage: { unit: 'tokens', amount: (body) => tokensOf(body, config().MAX_TOKENS_CAP), heavy: true },
      method: 'POST',
      path: '/models/{model}/v1/chat/completions',
      hubImport: true,
      streaming: true,
      errorShape: 'openai',
      summary: "One model's OpenAI chat completion (Hugging Face's chatCompletion through InferenceClient.endpoint)",
      description: `The path names the model; a body \`model\` is ignored. ${STREAMING} ${HUB_IMPORT}`,
      params: () => ModelPathParams,
      body: () => EndpointChatRequest(),
      response: ChatCompletion,
      streamChunk: ChatCompletionChunk,
      examples: () => ({
        chat: {
          summary: 'A user message',
          value: {
            model: config().DEFAULT_COMPLETIONS_MODEL,
            messages: [{ role: 'user', content: 'Hello' }],
            max_tokens: 8,
          },
        },
      }),
    },
    generate: {
      // Reserved up front as the other generator routes do: new tokens asked for (max_length counts the prompt too: an upper bound).
      usage: {
        unit: 'tokens',
        amount: (body) => {
          const b = (body ?? {}) as { max_length?: number; parameters?: { max_new_tokens?: number | null } | null };
          return b.parameters?.max_new_tokens ?? b.max_length ?? GENERATE_DEFAULT_NEW_TOKENS;
        },
        heavy: true,
      },
      method: 'POST',
      path: '/models/{model}/generate',
      hubImport: true,
      streaming: true,
      summary: 'Generate text: `{text, max_length}` or Text Generation Inference’s `{inputs, parameters}`',
      description:
        '`{text, max_length}`: greedy, `max_length` tokens in all (prompt included, as in transformers), answered with the prompt. `{inputs, parameters: {max_new_tokens, temperature, top_p, top_k, do_sample, stop, seed, return_full_text}}`: as TGI, answered without the prompt. `"stream": true`: TGI\'s events, `data: {"index","token":{"id","text","logprob","special"},"generated_text":null,"details":null}`, the last with `generated_text` and `details`; no `[DONE]`.' +
        ` ${HUB_IMPORT}`,
      params: () => ModelPathParams,
      body: () => GenerateRequest(),
      response: Generated,
      streamChunk: GeneratedToken,
      examples: () => {
        const model = config().DEFAULT_COMPLETIONS_MODEL;
        return {
          seed: { summary: 'Seed shape', value: { model, text: 'Hello, my name is', max_length: 12 } },
          tgi: {
            summary: 'TGI shape, sampled with a seed',
            value: { model, inputs: 'Once upon a time', parameters: { max_new_tokens: 8, do_sample: true, seed: 7 } },
          },
          stream: {
            summary: 'TGI stream',
            value: { model, inputs: 'Hello', parameters: { max_new_tokens: 4 }, stream: true },
          },
        };
      },
    },
  },
});
