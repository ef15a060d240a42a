import * as z from 'zod';
import { config } from '#runtime/config.ts';
import { TASKS } from '#runtime/manifest.ts';
import { perConfig, shortString, textField } from '../schemas.ts';

/**
 * OpenAI's request and response shapes (`routes.ts` says which route takes which) for `/v1/completions` and
 * `/v1/chat/completions`, so the official clients work unchanged. Fields OpenAI
 * accepts but this server cannot honour (logprobs, echo, tools, …) are refused with a
 * 400 naming the field rather than silently ignored.
 */
const cap = () => config();

const stop = z
  .union([shortString().min(1), z.array(shortString().min(1)).min(1).max(4)], {
    error: 'must be a string or a list of up to 4 non-empty strings',
  })
  .nullish()
  .transform((s) => (s == null ? [] : typeof s === 'string' ? [s] : s));

const samplingFields = () => ({
  model: shortString('is required: a model id from GET /v1/models', 'a model id').min(
    1,
    'is required: a model id from GET /v1/models',
  ),
  temperature: z.number().min(0, 'must be between 0 and 2').max(2, 'must be between 0 and 2').nullish(),
  top_p: z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]').nullish(),
  top_k: z
    .number()
    .int()
    .min(0)
    .nullish()
    .meta({ description: "Not in OpenAI's API; accepted as an extension (0 = off)." }),
  n: z
    .number()
    .int()
    .min(1, 'must be at least 1')
    .max(cap().MAX_CHOICES, `must be at most ${cap().MAX_CHOICES} on this server`)
    .nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  stop,
  presence_penalty: z.number().min(-2, 'must be between -2 and 2').max(2, 'must be between -2 and 2').nullish(),
  frequency_penalty: z.number().min(-2, 'must be between -2 and 2').max(2, 'must be between -2 and 2').nullish(),
  seed: z.number().int().nullish().meta({ description: 'The same seed, prompt and options reproduce a text.' }),
  user: shortString().nullish(),
  max_tokens: z
    .number()
    .int()
    .min(1, 'must be at least 1')
    .max(cap().MAX_TOKENS_CAP, `must be at most ${cap().MAX_TOKENS_CAP} on this server`)
    .nullish(),
});

const unsupported = (names: string[]) =>
  Object.fromEntries(
    names.map((n) => [
      n,
      z
        .unknown()
        .optional()
        .refine((v) => v == null || v === false, `is not supported by this server; remove it`)
        .meta({ description: 'Not supported by this server: leave it out (null or false are accepted).' }),
    ]),
  );

export const CompletionRequest = perConfig(() =>
  z.object({
    ...samplingFields(),
    prompt: z.union(
      [
        promptText(),
        z
          .array(promptText())
          .min(1, 'must not be an empty list')
          .max(cap().MAX_PROMPTS, `must hold at most ${cap().MAX_PROMPTS} prompts`),
      ],
      { error: 'must be a string or a list of strings' },
    ),
    ...unsupported(['logprobs', 'echo', 'suffix', 'logit_bias']),
    best_of: z.number().int().min(1).max(1, 'must be 1 on this server').nullish(),
  }),
);

/** A prompt or message text: bounded in characters here, in tokens against the model's window later. */
const promptText = () =>
  z.string().max(cap().MAX_TEXT_CHARS, `must be at most ${cap().MAX_TEXT_CHARS} characters; shorten it`);
/** The most messages one chat request may hold. */
export const MAX_CHAT_MESSAGES = 256;

const chatMessage = () => {
  const contentPart = z.object({ type: z.literal('text'), text: promptText() });
  return z.object({
    role: z.enum(['system', 'developer', 'user', 'assistant'], {
      error: 'must be one of "system", "developer", "user", "assistant"',
    }),
    content: z.union([promptText(), z.array(contentPart).min(1).max(MAX_CHAT_MESSAGES)], {
      error: 'must be a string or a list of text parts',
    }),
    name: shortString('must be a string', 'a name').optional(),
  });
};
export const ChatMessage = perConfig(chatMessage);
export type ChatMessage = z.infer<ReturnType<typeof chatMessage>>;

export const ChatRequest = perConfig(() =>
  z.object({
    ...samplingFields(),
    messages: z
      .array(ChatMessage(), { error: 'must be a list of messages' })
      .min(1, 'must hold at least one message')
      .max(MAX_CHAT_MESSAGES, `must hold at most ${MAX_CHAT_MESSAGES} messages`),
    max_completion_tokens: samplingFields().max_tokens,
    ...unsupported([
      'logprobs',
      'top_logprobs',
      'tools',
      'tool_choice',
      'functions',
      'function_call',
      'logit_bias',
      'audio',
    ]),
    response_format: z
      .object({ type: z.literal('text', { error: 'only {"type":"text"} is supported on this server' }) })
      .nullish(),
  }),
);

export type CompletionRequest = z.infer<ReturnType<typeof CompletionRequest>>;
export type ChatRequest = z.infer<ReturnType<typeof ChatRequest>>;

export const ModelObject = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    created: z.number().meta({ description: 'Unix seconds.' }),
    owned_by: z.string(),
    version: z.string().meta({ description: 'Not in OpenAI’s object: the version the id resolves to.' }),
    task: z.enum(TASKS).meta({ description: 'Not in OpenAI’s object: what the model does.' }),
    versions: z.array(z.string()).meta({ description: 'Not in OpenAI’s object: every published version.' }),
    aliases: z
      .record(z.string(), z.string())
      .meta({ description: 'Not in OpenAI’s object: alias → version (canary splits aside).' }),
    loaded: z
      .boolean()
      .meta({ description: 'Not in OpenAI’s object: a warm instance has its default version loaded.' }),
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
export const Completion = z
  .object({
    ...Envelope,
    object: z.literal('text_completion'),
    choices: z.array(
      z.object({ index: z.number(), text: z.string(), logprobs: z.null(), finish_reason: FinishReason }),
    ),
    usage: Usage,
  })
  .meta({ id: 'Completion' });
export const ChatCompletion = z
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
export const CompletionChunk = Completion.extend({
  usage: Usage.nullable().optional().meta({ description: 'With stream_options.include_usage; the last chunk.' }),
}).meta({ id: 'CompletionChunk' });
export const ChatCompletionChunk = z
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

export const ModelList = z.object({ object: z.literal('list'), data: z.array(ModelObject) });
export const ModelQuery = z.object({
  task: z
    .enum(TASKS, { error: `must be one of ${TASKS.join(', ')}` })
    .optional()
    .meta({ description: 'Only the models of this task.' }),
});
export const ModelParams = z.object({
  id: shortString('must be a string', 'a model id').meta({ description: 'name, name@version or name@alias' }),
});

/** The per-model routes (`/models/{model}/v1/…`): the path names the model; a body `model` (the client may send the endpoint URL) is ignored. */
const pathModel = shortString('must be a string', 'a model id')
  .optional()
  .meta({ description: 'Ignored: the path names the model.' });
export const EndpointCompletionRequest = perConfig(() => CompletionRequest().extend({ model: pathModel }));
export const EndpointChatRequest = perConfig(() => ChatRequest().extend({ model: pathModel }));

/** New tokens when neither `max_length` nor `parameters.max_new_tokens` says (transformers' and TGI's 20). */
export const GENERATE_DEFAULT_NEW_TOKENS = 20;

/**
 * `POST /models/{model}/generate`: seed 001's `{text, max_length}` (tokens, prompt included,
 * as in transformers) or Text Generation Inference's `{inputs, parameters}`.
 */
export const GenerateRequest = perConfig(() =>
  z
    .strictObject({
      model: pathModel,
      text: textField().optional().meta({ description: 'Seed shape: the prompt (answered with the prompt included).' }),
      max_length: z
        .number()
        .int()
        .min(1, 'must be at least 1')
        .optional()
        .meta({ description: 'Seed shape: tokens in all, the prompt included (default: prompt + 20).' }),
      inputs: textField().optional().meta({ description: 'TGI shape: the prompt (answered without it).' }),
      parameters: z
        .strictObject({
          max_new_tokens: samplingFields().max_tokens.meta({ description: 'Default 20.' }),
          temperature: z.number().gt(0, 'must be above 0').max(2, 'must be at most 2').nullish(),
          top_p: samplingFields().top_p,
          top_k: samplingFields().top_k,
          do_sample: z
            .boolean()
            .nullish()
            .meta({ description: 'false (default): greedy unless temperature/top_p/top_k ask to sample.' }),
          stop: z.array(shortString().min(1)).max(4, 'must hold at most 4 sequences').nullish(),
          seed: z.number().int().min(0).nullish(),
          return_full_text: z.boolean().nullish(),
        })
        .optional(),
      stream: z.boolean().optional().meta({ description: "TGI's server-sent token events." }),
    })
    .refine((b) => (b.text === undefined) !== (b.inputs === undefined), {
      message: 'send either "text" (with "max_length") or "inputs" (with "parameters")',
      path: ['inputs'],
    })
    .refine((b) => b.text !== undefined || b.max_length === undefined, {
      message: 'goes with "text"; with "inputs" use parameters.max_new_tokens',
      path: ['max_length'],
    })
    .refine((b) => b.inputs !== undefined || b.parameters === undefined, {
      message: 'goes with "inputs"; with "text" use "max_length"',
      path: ['parameters'],
    }),
);
export type GenerateRequest = z.infer<ReturnType<typeof GenerateRequest>>;

export const Generated = z.object({ generated_text: z.string() }).meta({ id: 'Generated' });
const TgiToken = z.object({
  id: z.number(),
  text: z.string(),
  logprob: z.null().meta({ description: 'Not computed by this server.' }),
  special: z.boolean(),
});
export const GeneratedToken = z
  .object({
    index: z.number(),
    token: TgiToken,
    generated_text: z.string().nullable().meta({ description: 'The whole text, on the last event only.' }),
    details: z
      .object({
        finish_reason: z.enum(['length', 'eos_token', 'stop_sequence']),
        generated_tokens: z.number(),
        seed: z.number().nullable(),
      })
      .nullable(),
  })
  .meta({ id: 'GeneratedToken', description: "Text Generation Inference's stream event." });

export const ImportParams = z.object({
  org: shortString('must be a string', 'a Hub organisation').meta({
    description: 'The Hub organisation (or user): `Xenova`.',
  }),
  name: shortString('must be a string', 'a Hub repository').meta({
    description: 'The Hub repository name: `tiny-gpt2`.',
  }),
});
export const ImportQuery = z.object({
  revision: shortString('must be a string', 'a revision')
    .optional()
    .meta({ description: 'Branch, tag or commit the import was asked for; default `main`.' }),
});
