/**
 * The text-generation task: load a causal-LM bundle, continue prompts or chats (chat
 * template from the tokenizer config) greedily or by seeded sampling, with OpenAI's
 * stop sequences, penalties, `n` choices, deadlines and token streaming.
 */
export {
  type Choice,
  type DecodeRequest,
  decodeLoop,
  type FinishReason,
  type GenerationResult,
  type OnToken,
  type StepInput,
  type StepModel,
  type StepOutput,
  type TokenDelta,
} from './decode.ts';
export {
  CHAT_ROLES,
  type ChatMessage,
  type ChatRole,
  type Generator,
  type GeneratorInfo,
  type LoadGeneratorOptions,
  loadGenerator,
} from './generator.ts';
export {
  checkContext,
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
