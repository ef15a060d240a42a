/**
 * Text generation with a causal LM (GPT-2, Qwen2, Llama, SmolLM ONNX exports in the
 * transformers.js layout) and its KV cache.
 *
 * Why this file owns the decode loop instead of calling `model.generate()`: in
 * transformers.js 4.3.1 `generate()` samples with `Math.random` and takes no sampler,
 * so a `seed` cannot make sampling reproducible; its top-p warper is never applied;
 * it has a `logits_processor` hook but no OpenAI-style presence/frequency penalty; and
 * its stopping criteria end the call only when every row is done (finished rows keep
 * decoding), with no deadline or abort between steps. Everything below the loop stays the library's:
 * tokenizer, chat template, `model.forward` (session feeds, the empty first cache,
 * `use_cache_branch` of merged decoders).
 *
 * Choices of an `n > 1` request share one prompt pass: the prompt's KV cache is copied
 * to `n` rows, the rows decode as one batch, and a finished row leaves the batch.
 */
import { AutoModelForCausalLM, Tensor } from '@huggingface/transformers';
import { oneOf, ValidationError } from '#runtime/errors.ts';
import type { ModelSource } from '#runtime/onnx.ts';
import { gatherRows, isIdentity, type KvCache, readStep } from '../decoding.ts';
import { type LoadBundleOptions, loadBundle } from '../loading.ts';
import { type GenerateOptions, type ResolvedOptions, resolveOptions } from './options.ts';
import { applyPenalties, createRng, type Rng, sampleToken } from './sampling.ts';
import { CompletionText } from './text.ts';

export type FinishReason = 'stop' | 'length';

export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Streamed text of one choice. The `text` of all deltas of a choice, joined, is its final `text`. */
export interface TokenDelta {
  /** The choice this delta belongs to (0..n-1). */
  index: number;
  /** New text; '' only on the last delta of a choice when nothing was left to send. */
  text: string;
  /** Tokens generated since the previous delta of this choice. */
  tokenIds: number[];
  /** Set on the last delta of the choice. */
  finishReason?: FinishReason;
}

export interface Choice {
  index: number;
  /** The completion text, without the stop sequence that ended it. */
  text: string;
  /** Every generated token, including the end-of-sequence token or the tokens of the stop sequence. */
  tokenIds: number[];
  /** `stop`: end-of-sequence token or stop sequence. `length`: `maxTokens` or the deadline. */
  finishReason: FinishReason;
}

export interface GenerationResult {
  choices: Choice[];
  /** Tokens of the prompt as the model read it (chat: after the chat template). */
  promptTokens: number;
  /** Sum over choices of `tokenIds.length`. */
  completionTokens: number;
  /** From the call to the first sampled token; null when no token was generated. */
  timeToFirstTokenMs: number | null;
  /** From the call to the last token. */
  durationMs: number;
  /** The seed the random streams used (the request's, or a random one): repeat it to reproduce. */
  seed: number;
}

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

export interface GeneratorInfo {
  modelType: string;
  /** Prompt plus completion tokens the model can attend to (`n_positions`). */
  contextLength: number;
  vocabSize: number;
  hasChatTemplate: boolean;
  /** Any of these ends a choice with `finishReason: 'stop'` (generation_config.json). */
  eosTokenIds: number[];
  bosTokenId: number | null;
}

export interface LoadGeneratorOptions extends LoadBundleOptions {
  /**
   * Prompt tokens per prompt-pass chunk. Default: as many as keep the chunk's logits
   * under 64 MiB (333 tokens for a 50k vocabulary, 110 for 150k).
   */
  prefillChunkTokens?: number;
}

export type OnToken = (delta: TokenDelta) => void;

export interface Generator {
  info(): GeneratorInfo;
  /** Prompt token ids of `text` as `generate` reads a string prompt (the tokenizer's special tokens included). */
  encode(text: string): number[];
  /** Text of `ids` as completions are decoded (special tokens skipped, spaces not cleaned up). */
  decode(ids: readonly number[]): string;
  /** `encode(text).length`: the `prompt_tokens` a string prompt costs. */
  countTokens(text: string): number;
  /** The chat template applied to `messages`, with the assistant generation prompt; throws without a template. */
  renderChat(messages: readonly ChatMessage[]): string;
  /** Prompt token ids of a chat (the rendered template, tokenized without adding special tokens). */
  encodeChat(messages: readonly ChatMessage[]): number[];
  /**
   * Continues `prompt` (text, or token ids as OpenAI's `prompt` allows). Rejects with a
   * `ValidationError` before any token when the options or the prompt are invalid, and
   * with `signal.reason` when aborted.
   */
  generate(prompt: string | readonly number[], options?: GenerateOptions, onToken?: OnToken): Promise<GenerationResult>;
  /** `generate` on the chat template of `messages`; a model without a chat template is a `ValidationError`. */
  chat(messages: readonly ChatMessage[], options?: GenerateOptions, onToken?: OnToken): Promise<GenerationResult>;
  /** Raw next-token logits after `prompt` (no penalties, no temperature): for tests and diagnostics. */
  nextTokenLogits(prompt: string | readonly number[]): Promise<Float32Array>;
  dispose(): Promise<void>;
}

// Fields read from config.json; transformers.js types the config loosely.
interface CausalConfig {
  model_type?: string;
  vocab_size?: number;
  n_positions?: number;
  max_position_embeddings?: number;
  n_ctx?: number;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
}

/** Upper bound on the logits one prompt-pass chunk returns (float32): 64 MiB. */
const PREFILL_LOGITS_BYTES = 64 * 2 ** 20;

const asArray = (v: number | number[] | null | undefined): number[] =>
  v === null || v === undefined ? [] : Array.isArray(v) ? v : [v];

// The tensors the decoder caches, keyed by their `past_key_values.*` input names.
type Cache = KvCache;

/**
 * Copies rows `rows` (first dimension) of every cache tensor into new tensors, in that
 * order (a row may repeat: that is how one prompt pass becomes `n` choices). The KV cache
 * of the models we serve is batch-first (`[batch, heads, sequence, head_dim]`); a layout
 * whose first dimension is not the batch is refused rather than silently mixed up.
 */
const gatherCache = (cache: Cache, rows: readonly number[], batch: number): Cache => {
  const out: Cache = {};
  for (const [name, tensor] of Object.entries(cache)) {
    const [first = 0] = tensor.dims;
    if (first !== batch) {
      throw new Error(`Cache tensor ${name} has first dimension ${first}, not the batch size ${batch}.`);
    }
    out[name] = gatherRows(tensor, rows);
  }
  return out;
};

/** One choice while it decodes. */
interface ChoiceState {
  index: number;
  rng: Rng;
  text: CompletionText;
  /** Every generated token (the end-of-sequence token too, which never reaches `text`). */
  tokenIds: number[];
  /** How often each token occurs in this completion (for the penalties). */
  counts: Map<number, number>;
  /** Tokens not yet reported through `onToken`. */
  pending: number[];
  finishReason?: FinishReason;
  /** The cache row this choice continues. */
  row: number;
}

/**
 * Loads a causal-LM bundle (tokenizer + ONNX decoder with KV cache) from a local folder
 * (or a cached bundle, preferring its pre-optimised graph: `modelSource`). Nothing is
 * downloaded (`loadBundle`).
 *
 * @example
 * const gen = await loadGenerator('/mnt/models/tiny-gpt2/1', { dtype: 'fp32' });
 * const out = await gen.generate('Hello, my name is', { maxTokens: 5, temperature: 0 });
 * out.choices[0]; // => { index: 0, text: 'fixfixfixfixfix', tokenIds: [956, 956, 956, 956, 956], finishReason: 'length' }
 */
export const loadGenerator = async (source: ModelSource, options: LoadGeneratorOptions = {}): Promise<Generator> => {
  const { tokenizer, model } = await loadBundle(source, AutoModelForCausalLM, options);
  const config = model.config as unknown as CausalConfig;
  const generationConfig = (model.generation_config ?? {}) as unknown as CausalConfig;
  const eosTokenIds = asArray(generationConfig.eos_token_id ?? config.eos_token_id ?? tokenizer.eos_token_id);
  const eos = new Set(eosTokenIds);
  const bosTokenId = generationConfig.bos_token_id ?? config.bos_token_id ?? tokenizer.bos_token_id ?? null;
  const vocabSize = config.vocab_size ?? tokenizer.get_vocab().size;
  const tokenizerMax = Number(tokenizer.model_max_length);
  const contextLength =
    config.n_positions ??
    config.max_position_embeddings ??
    config.n_ctx ??
    (Number.isFinite(tokenizerMax) && tokenizerMax > 0 ? tokenizerMax : 2048);
  const hasChatTemplate = (() => {
    try {
      return typeof tokenizer.get_chat_template() === 'string';
    } catch {
      return false;
    }
  })();
  const info: GeneratorInfo = {
    modelType: config.model_type ?? 'unknown',
    contextLength,
    vocabSize,
    hasChatTemplate,
    eosTokenIds,
    bosTokenId,
  };

  // No clean-up of spaces (" ," -> ","): generated text, code above all, comes out as the
  // model wrote it, and incremental decoding needs windows that add up (see text.ts).
  // Prompt tokens per prompt-pass chunk: bounds the logits the model returns at once.
  const prefillChunk = Math.max(
    1,
    Math.floor(options.prefillChunkTokens ?? Math.max(16, PREFILL_LOGITS_BYTES / (4 * vocabSize))),
  );

  const decode = (ids: readonly number[]): string =>
    tokenizer.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false });

  const encode = (text: string): number[] => tokenizer.encode(text);

  const promptIds = (prompt: string | readonly number[]): number[] => {
    if (typeof prompt !== 'string') {
      const bad = prompt.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
      if (bad >= 0) {
        throw new ValidationError(
          `prompt token ${bad} is ${String(prompt[bad])}; token ids must be integers from 0 to ${vocabSize - 1}.`,
          { param: 'prompt' },
        );
      }
      if (prompt.length > 0) return [...prompt];
    } else {
      const ids = encode(prompt);
      if (ids.length > 0) return ids;
    }
    // An empty prompt continues from the start-of-text token, as OpenAI's GPT models do.
    if (bosTokenId === null) {
      throw new ValidationError('prompt must not be empty: this model has no start-of-text token to begin from.', {
        param: 'prompt',
      });
    }
    return [bosTokenId];
  };

  const checkMessages = (messages: readonly ChatMessage[]): void => {
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new ValidationError('messages must be a non-empty list of { role, content } objects.', {
        param: 'messages',
      });
    }
    messages.forEach((m, i) => {
      if (!(CHAT_ROLES as readonly string[]).includes(m?.role)) {
        throw new ValidationError(
          `messages[${i}].role is ${JSON.stringify(m?.role)}; it must be one of ${oneOf(CHAT_ROLES)}.`,
          { param: `messages[${i}].role` },
        );
      }
      if (typeof m.content !== 'string') {
        throw new ValidationError(`messages[${i}].content must be a string.`, { param: `messages[${i}].content` });
      }
    });
  };

  const renderChat = (messages: readonly ChatMessage[]): string => {
    checkMessages(messages);
    if (!hasChatTemplate) {
      throw new ValidationError(
        'This model has no chat template (tokenizer_config.json "chat_template"), so chat needs a chat template it ' +
          'does not have. Send the prompt as plain text to /v1/completions instead, which still works, or pick a ' +
          'chat model.',
        { param: 'messages' },
      );
    }
    return tokenizer.apply_chat_template(
      messages.map((m) => ({ role: m.role, content: m.content })),
      { add_generation_prompt: true, tokenize: false },
    );
  };

  // The template already holds the special tokens (BOS, role markers): add none.
  const encodeChat = (messages: readonly ChatMessage[]): number[] =>
    tokenizer.encode(renderChat(messages), { add_special_tokens: false });

  /**
   * One model step: feeds `tokens` (same length per row) after `pastLength` cached
   * positions, returns the last position's logits per row (copies: callers modify them)
   * and the new cache.
   */
  const forward = async (
    tokens: readonly (readonly number[])[],
    pastLength: number,
    cache: Cache | undefined,
  ): Promise<{ logits: Float32Array[]; cache: Cache }> => {
    const rows = tokens.length;
    const length = tokens[0]?.length ?? 0;
    const ids = new BigInt64Array(rows * length);
    const positions = new BigInt64Array(rows * length);
    tokens.forEach((row, r) => {
      row.forEach((id, j) => {
        ids[r * length + j] = BigInt(id);
        positions[r * length + j] = BigInt(pastLength + j);
      });
    });
    // `model.forward` is typed `any` in transformers.js; the outputs used are checked below.
    const outputs: Record<string, Tensor> = await model.forward({
      input_ids: new Tensor('int64', ids, [rows, length]),
      attention_mask: new Tensor('int64', new BigInt64Array(rows * (pastLength + length)).fill(1n), [
        rows,
        pastLength + length,
      ]),
      position_ids: new Tensor('int64', positions, [rows, length]),
      // Only fed to exports that take it: compute the LM head for the last position only.
      num_logits_to_keep: new Tensor('int64', BigInt64Array.of(1n), []),
      // Undefined on the prompt pass: the library feeds empty past tensors.
      past_key_values: cache,
    });
    return readStep(outputs, 'model');
  };

  /**
   * The prompt pass, in chunks of `prefillChunk` tokens: the model returns logits for
   * every position it is fed, and a long prompt at once would return prompt x vocabulary
   * floats (1000 tokens of a 150k vocabulary: 600 MB).
   */
  const prefill = async (ids: readonly number[], signal?: AbortSignal) => {
    let out: Awaited<ReturnType<typeof forward>> | undefined;
    for (let start = 0; start < ids.length; start += prefillChunk) {
      signal?.throwIfAborted();
      out = await forward([ids.slice(start, start + prefillChunk)], start, out?.cache);
    }
    if (!out) throw new Error('prefill needs at least one prompt token.');
    return out;
  };

  const run = async (
    ids: number[],
    opts: ResolvedOptions,
    promptParam: string,
    onToken: OnToken | undefined,
  ): Promise<GenerationResult> => {
    const started = performance.now();
    const promptTokens = ids.length;
    const room = checkContext(contextLength, promptTokens, opts.maxTokens, promptParam);
    const maxTokens = opts.maxTokens ?? room;
    const sampling = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP };
    const choices: ChoiceState[] = Array.from({ length: opts.n }, (_, index) => ({
      index,
      rng: createRng(opts.seed, index),
      text: new CompletionText(decode, opts.stop),
      tokenIds: [],
      counts: new Map(),
      pending: [],
      row: 0,
    }));

    let firstTokenAt: number | null = null;
    let lastTokenAt = started;
    /** Ends a choice; `delta` is text its last token made streamable and that was not sent yet. */
    const finish = (choice: ChoiceState, reason: FinishReason, delta = ''): void => {
      choice.finishReason = reason;
      const text = delta + choice.text.flush();
      onToken?.({ index: choice.index, text, tokenIds: choice.pending.splice(0), finishReason: reason });
    };
    const pastDeadline = (stepMs: number): boolean =>
      opts.deadline !== undefined && Date.now() + stepMs >= opts.deadline;

    opts.signal?.throwIfAborted();
    let active = choices;
    if (pastDeadline(0)) {
      for (const choice of active) finish(choice, 'length');
      active = [];
    }
    let batch = 1;
    let stepStart = performance.now();
    let out = active.length > 0 ? await prefill(ids, opts.signal) : undefined;
    let pastLength = ids.length;
    let stepMs = performance.now() - stepStart;
    while (active.length > 0 && out) {
      for (const choice of active) {
        // Rows sharing one cache row (right after the prompt pass) each need their own copy.
        const logits =
          active.length > 1 && out.logits.length === 1
            ? Float32Array.from(out.logits[0] as Float32Array)
            : (out.logits[choice.row] as Float32Array);
        applyPenalties(logits, choice.counts, opts.presencePenalty, opts.frequencyPenalty);
        const token = sampleToken(logits, sampling, choice.rng);
        choice.counts.set(token, (choice.counts.get(token) ?? 0) + 1);
        choice.tokenIds.push(token);
        choice.pending.push(token);
        if (!opts.ignoreEos && eos.has(token)) {
          // The end-of-sequence token is counted but never text, special token or not.
          finish(choice, 'stop');
          continue;
        }
        const { delta, stopped } = choice.text.push(token);
        if (stopped) {
          finish(choice, 'stop', delta);
        } else if (choice.tokenIds.length >= maxTokens) {
          finish(choice, 'length', delta);
        } else if (delta !== '') {
          onToken?.({ index: choice.index, text: delta, tokenIds: choice.pending.splice(0) });
        }
      }
      lastTokenAt = performance.now();
      firstTokenAt ??= lastTokenAt;
      const running = active.filter((c) => c.finishReason === undefined);
      if (running.length === 0) break;
      opts.signal?.throwIfAborted();
      if (pastDeadline(stepMs)) {
        for (const choice of running) finish(choice, 'length');
        break;
      }
      const rows = running.map((c) => c.row);
      const cache = isIdentity(rows, batch) ? out.cache : gatherCache(out.cache, rows, batch);
      running.forEach((c, i) => {
        c.row = i;
      });
      batch = running.length;
      stepStart = performance.now();
      out = await forward(
        running.map((c) => [c.tokenIds.at(-1) as number]),
        pastLength,
        cache,
      );
      pastLength += 1;
      stepMs = performance.now() - stepStart;
      active = running;
    }

    const results: Choice[] = choices.map((c) => ({
      index: c.index,
      text: c.text.final,
      tokenIds: c.tokenIds,
      finishReason: c.finishReason ?? 'length',
    }));
    return {
      choices: results,
      promptTokens,
      completionTokens: results.reduce((sum, c) => sum + c.tokenIds.length, 0),
      timeToFirstTokenMs: firstTokenAt === null ? null : firstTokenAt - started,
      durationMs: lastTokenAt - started,
      seed: opts.seed,
    };
  };

  return {
    info: () => ({ ...info, eosTokenIds: [...eosTokenIds] }),
    encode,
    decode,
    countTokens: (text) => encode(text).length,
    renderChat,
    encodeChat,
    generate: async (prompt, generateOptions, onToken) => {
      const opts = resolveOptions(generateOptions);
      return run(promptIds(prompt), opts, 'prompt', onToken);
    },
    chat: async (messages, generateOptions, onToken) => {
      const opts = resolveOptions(generateOptions);
      return run(encodeChat(messages), opts, 'messages', onToken);
    },
    nextTokenLogits: async (prompt) => {
      const { logits } = await prefill(promptIds(prompt));
      return logits[0] as Float32Array;
    },
    dispose: async () => {
      await model.dispose();
    },
  };
};
