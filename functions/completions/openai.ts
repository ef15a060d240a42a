import { randomUUID } from 'node:crypto';
import type { GenerateOptions } from '#tasks/generation/index.ts';
import type { ChatMessage } from './schemas.ts';

/** OpenAI's objects: ids, timestamps, usage, message text. */
export const completionId = (kind: 'cmpl' | 'chatcmpl'): string => `${kind}-${randomUUID().replaceAll('-', '')}`;
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
export const usage = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

/** Text of a chat message: a string, or text parts joined. */
export const messageText = (content: ChatMessage['content']): string =>
  typeof content === 'string' ? content : content.map((p) => p.text).join('');

/** The sampling fields both OpenAI requests share. */
export interface SamplingFields {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  n?: number | null;
  stop: string[];
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  seed?: number | null;
  max_tokens?: number | null;
}

/** OpenAI's snake_case fields to the generator's options (OpenAI's defaults where absent). */
export const optionsOf = (r: SamplingFields, defaultMaxTokens?: number): GenerateOptions => ({
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
