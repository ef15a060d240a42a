/**
 * The text-generation task: load a causal-LM bundle, continue prompts or chats (chat
 * template from the tokenizer config) greedily or by seeded sampling, with OpenAI's
 * stop sequences, penalties, `n` choices, deadlines and token streaming.
 */
export {
  CHAT_ROLES,
  type ChatMessage,
  type ChatRole,
  type Choice,
  checkContext,
  type FinishReason,
  type GenerationResult,
  type Generator,
  type GeneratorInfo,
  type LoadGeneratorOptions,
  loadGenerator,
  type OnToken,
  type TokenDelta,
} from './generator.ts';
export {
  type GenerateOptions,
  MAX_CHOICES,
  MAX_STOP_SEQUENCES,
  PENALTY_MAX,
  type ResolvedOptions,
  resolveOptions,
  TEMPERATURE_MAX,
} from './options.ts';
export { applyPenalties, argmax, createRng, type Rng, type SamplingSettings, sampleToken } from './sampling.ts';
export { CompletionText } from './text.ts';
