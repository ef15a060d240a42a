import { randomInt } from 'node:crypto';
import { ValidationError } from '#runtime/errors.ts';

/**
 * Options of one generation request, named after OpenAI's fields (camelCase here; the
 * `param` of a {@link ValidationError} carries OpenAI's snake_case name).
 */
export interface GenerateOptions {
  /** New tokens per choice. Default: the rest of the context window. */
  maxTokens?: number;
  /** 0 = greedy; otherwise sampling at this temperature. OpenAI range 0..2, default 1. */
  temperature?: number;
  /** Nucleus sampling mass, (0, 1]; default 1 (off). */
  topP?: number;
  /** Keep only the k most likely tokens; 0 (default) = off. Not an OpenAI field (vLLM has it). */
  topK?: number;
  /** Same seed and options => same text. Absent: a random seed (reported in the result). */
  seed?: number;
  /** Up to {@link MAX_STOP_SEQUENCES} strings; generation ends before the first one and it is not returned. */
  stop?: string | readonly string[];
  /** -2..2; subtracted once from the logit of every token already in the completion. */
  presencePenalty?: number;
  /** -2..2; subtracted from a token's logit once per time it appears in the completion. */
  frequencyPenalty?: number;
  /** Number of choices, each from its own random stream; default 1. */
  n?: number;
  /** Keep going on end-of-sequence tokens (benchmarks: always produce `maxTokens`). */
  ignoreEos?: boolean;
  /** Epoch ms: generation stops before this moment and reports `finishReason: 'length'`. */
  deadline?: number;
  /** Aborting rejects the generation with the signal's reason between two model steps. */
  signal?: AbortSignal;
}

/** The options after defaults and validation. */
export interface ResolvedOptions {
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  stop: string[];
  presencePenalty: number;
  frequencyPenalty: number;
  n: number;
  ignoreEos: boolean;
  deadline: number | undefined;
  signal: AbortSignal | undefined;
}

/** OpenAI's limits for the sampling fields. */
export const TEMPERATURE_MAX = 2;
export const PENALTY_MAX = 2;
export const MAX_STOP_SEQUENCES = 4;
/** A sanity bound; the HTTP layer sets its own, lower, configured cap. */
export const MAX_CHOICES = 128;

const POSITIVE_PENALTY = " Positive values make repeating the completion's own tokens less likely.";

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const inRange = (value: unknown, min: number, max: number, param: string, hint: string): number => {
  if (!isNumber(value) || value < min || value > max) {
    throw new ValidationError(`${param} must be a number from ${min} to ${max}; got ${String(value)}.${hint}`, {
      param,
    });
  }
  return value;
};

const positiveInteger = (value: unknown, max: number, param: string, hint: string): number => {
  if (!isNumber(value) || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ValidationError(`${param} must be an integer from 1 to ${max}; got ${String(value)}. ${hint}`, {
      param,
    });
  }
  return value;
};

/**
 * Applies defaults and checks ranges; throws a {@link ValidationError} naming the
 * OpenAI field at fault. `maxTokens` is checked against the context window later, when
 * the prompt length is known.
 *
 * @example
 * resolveOptions({ temperature: 0, stop: '\n' });
 * // => { temperature: 0, topP: 1, topK: 0, stop: ['\n'], n: 1, seed: <random>, ... }
 */
export const resolveOptions = (opts: GenerateOptions = {}): ResolvedOptions => {
  const temperature = inRange(opts.temperature ?? 1, 0, TEMPERATURE_MAX, 'temperature', ' 0 means greedy decoding.');
  const topP = inRange(opts.topP ?? 1, 0, 1, 'top_p', ' Use 1 to turn nucleus sampling off.');
  if (topP === 0) {
    throw new ValidationError('top_p must be greater than 0 (1 turns nucleus sampling off).', { param: 'top_p' });
  }
  const topK = opts.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0) {
    throw new ValidationError(`top_k must be a non-negative integer (0 = off); got ${String(opts.topK)}.`, {
      param: 'top_k',
    });
  }
  const presencePenalty = inRange(
    opts.presencePenalty ?? 0,
    -PENALTY_MAX,
    PENALTY_MAX,
    'presence_penalty',
    POSITIVE_PENALTY,
  );
  const frequencyPenalty = inRange(
    opts.frequencyPenalty ?? 0,
    -PENALTY_MAX,
    PENALTY_MAX,
    'frequency_penalty',
    POSITIVE_PENALTY,
  );
  const n = positiveInteger(opts.n ?? 1, MAX_CHOICES, 'n', 'It is the number of choices to generate.');
  const maxTokens =
    opts.maxTokens === undefined
      ? undefined
      : positiveInteger(opts.maxTokens, Number.MAX_SAFE_INTEGER, 'max_tokens', 'It bounds the new tokens per choice.');
  if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed)) {
    throw new ValidationError(`seed must be an integer; got ${String(opts.seed)}.`, { param: 'seed' });
  }
  const stopList = opts.stop === undefined ? [] : typeof opts.stop === 'string' ? [opts.stop] : [...opts.stop];
  if (stopList.length > MAX_STOP_SEQUENCES || stopList.some((s) => typeof s !== 'string')) {
    throw new ValidationError(
      `stop must be a string or a list of at most ${MAX_STOP_SEQUENCES} strings; got ${JSON.stringify(opts.stop)}.`,
      { param: 'stop' },
    );
  }
  if (opts.deadline !== undefined && !isNumber(opts.deadline)) {
    throw new ValidationError(`deadline must be epoch milliseconds; got ${String(opts.deadline)}.`, {
      param: 'deadline',
    });
  }
  return {
    maxTokens,
    temperature,
    topP,
    topK,
    // 2^48 keeps the seed a safe integer with both 32-bit halves mixed (see createRng).
    seed: opts.seed ?? randomInt(2 ** 48 - 1),
    stop: stopList.filter((s) => s.length > 0),
    presencePenalty,
    frequencyPenalty,
    n,
    ignoreEos: opts.ignoreEos ?? false,
    deadline: opts.deadline,
    signal: opts.signal,
  };
};

/**
 * Checks that a prompt of `promptTokens` leaves room for a completion (of `maxTokens`,
 * when given) in a context window of `contextLength`; returns the room. Throws the
 * `ValidationError` a caller must see before any token (and before a stream starts).
 *
 * @example
 * checkContext(256, 250, 4, 'prompt'); // => 6
 * checkContext(256, 250, 10, 'prompt'); // throws ValidationError: "This model's maximum context length is 256 tokens. …"
 */
export const checkContext = (
  contextLength: number,
  promptTokens: number,
  maxTokens: number | undefined,
  promptParam: string,
): number => {
  const room = contextLength - promptTokens;
  if (room < 1) {
    throw new ValidationError(
      `The ${promptParam} is ${promptTokens} tokens; this model's context window is ${contextLength} tokens, ` +
        'which leaves no room for a completion. Shorten it.',
      { param: promptParam },
    );
  }
  if (maxTokens !== undefined && maxTokens > room) {
    throw new ValidationError(
      `This model's maximum context length is ${contextLength} tokens. However, you requested ` +
        `${promptTokens + maxTokens} tokens (${promptTokens} in the ${promptParam}, ${maxTokens} in the ` +
        `completion). Reduce the ${promptParam} or max_tokens (at most ${room} here).`,
      { param: 'max_tokens' },
    );
  }
  return room;
};
