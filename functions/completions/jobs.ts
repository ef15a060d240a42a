import { parseInput } from '#http/validate.ts';
import { ValidationError } from '#runtime/errors.ts';
import { type ChatMessage, checkContext, type GenerateOptions, resolveOptions } from '#tasks/generation/index.ts';
import { ChatRequest, CompletionRequest, messageText } from './openai.ts';
import type { GenerationJob } from './serve.ts';

type Common = {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  n?: number | null;
  stop: string[];
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  seed?: number | null;
  max_tokens?: number | null;
};

/** OpenAI's snake_case fields to the generator's options (OpenAI's defaults where absent). */
const optionsOf = (r: Common, defaultMaxTokens?: number): GenerateOptions => ({
  maxTokens: r.max_tokens ?? defaultMaxTokens,
  temperature: r.temperature ?? 1,
  topP: r.top_p ?? 1,
  topK: r.top_k ?? 0,
  n: r.n ?? 1,
  stop: r.stop,
  presencePenalty: r.presence_penalty ?? 0,
  frequencyPenalty: r.frequency_penalty ?? 0,
  ...(r.seed == null ? {} : { seed: r.seed }),
});

/** `POST /v1/completions`: OpenAI's default `max_tokens` is 16. */
export const completionJob = (body: unknown): GenerationJob => {
  const r = parseInput(CompletionRequest(), body);
  const prompts = typeof r.prompt === 'string' ? [r.prompt] : r.prompt;
  const options = optionsOf(r, 16);
  return {
    kind: 'completion',
    model: r.model,
    prompts,
    options,
    stream: r.stream ?? false,
    includeUsage: r.stream_options?.include_usage ?? false,
    validate: (gen) => {
      const { maxTokens } = resolveOptions(options);
      for (const p of prompts) checkContext(gen.info().contextLength, gen.countTokens(p), maxTokens, 'prompt');
    },
    run: (gen, opts, onToken, p = 0) => gen.generate(prompts[p]!, opts, onToken),
  };
};

/** `POST /v1/chat/completions`: `developer` is OpenAI's newer name for `system`. */
export const chatJob = (body: unknown): GenerationJob => {
  const r = parseInput(ChatRequest(), body);
  const messages: ChatMessage[] = r.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: messageText(m.content),
  }));
  if (messages.at(-1)?.role === 'assistant' && messages.length === 1) {
    throw new ValidationError('messages must include a user or system message, not only an assistant one.', {
      param: 'messages',
    });
  }
  const options = optionsOf({ ...r, max_tokens: r.max_completion_tokens ?? r.max_tokens });
  return {
    kind: 'chat',
    model: r.model,
    prompts: [messages.map((m) => `${m.role}: ${m.content}`).join('\n')],
    options,
    stream: r.stream ?? false,
    includeUsage: r.stream_options?.include_usage ?? false,
    validate: (gen) => {
      const { maxTokens } = resolveOptions(options);
      checkContext(gen.info().contextLength, gen.encodeChat(messages).length, maxTokens, 'messages');
    },
    run: (gen, opts, onToken) => gen.chat(messages, opts, onToken),
  };
};
