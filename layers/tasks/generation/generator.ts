/**
 * Text generation with a causal LM (GPT-2, Qwen2, Llama, SmolLM ONNX exports in the
 * transformers.js layout): the model wiring. Tokenizer, chat template, the forward pass
 * with its KV cache, and loading; the decode loop over it is decode.ts.
 *
 * Why the project owns the decode loop instead of calling `model.generate()`: in
 * transformers.js 4.3.1 `generate()` samples with `Math.random` and takes no sampler,
 * so a `seed` cannot make sampling reproducible; its top-p warper is never applied;
 * it has a `logits_processor` hook but no OpenAI-style presence/frequency penalty; and
 * its stopping criteria end the call only when every row is done (finished rows keep
 * decoding), with no deadline or abort between steps. Everything below the loop stays the library's:
 * tokenizer, chat template, `model.forward` (session feeds, the empty first cache,
 * `use_cache_branch` of merged decoders).
 */
import { AutoModelForCausalLM, Tensor } from '@huggingface/transformers';
import { oneOf, ValidationError } from '#runtime/errors.ts';
import type { ModelSource } from '#runtime/onnx.ts';
import { gatherRows, isIdentity, type KvCache, readStep } from '../decoding.ts';
import { type LoadBundleOptions, loadBundle } from '../loading.ts';
import { decodeLoop, type GenerationResult, type OnToken, type StepModel, type StepOutput } from './decode.ts';
import { type GenerateOptions, type ResolvedOptions, resolveOptions } from './options.ts';

export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

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
        'This model has no chat template (tokenizer_config.json "chat_template"), so it cannot take messages. ' +
          'Send the prompt as plain text to /v1/completions instead, pick a chat model, or import the model with one: ' +
          'npm run models -- import <dir> --task text-generation --chat-template chatml|llama-3|zephyr|<file> --name <name> --version <v>.',
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
  ): Promise<StepOutput<Cache>> => {
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
  const prefill = async (ids: readonly number[], signal?: AbortSignal): Promise<StepOutput<Cache>> => {
    let out: StepOutput<Cache> | undefined;
    for (let start = 0; start < ids.length; start += prefillChunk) {
      signal?.throwIfAborted();
      out = await forward([ids.slice(start, start + prefillChunk)], start, out?.cache);
    }
    if (!out) throw new Error('prefill needs at least one prompt token.');
    return out;
  };

  // The decode loop's view of the model: a step feeds each row its last token after
  // gathering the cache rows the rows continue (none to gather when they stay in place).
  const stepModel: StepModel<Cache> = {
    prefill,
    step: ({ tokens, rows, cacheRows, cache, pastLength }) =>
      forward(
        tokens.map((token) => [token]),
        pastLength,
        isIdentity(rows, cacheRows) ? cache : gatherCache(cache, rows, cacheRows),
      ),
  };

  const run = (
    promptIds: number[],
    options: ResolvedOptions,
    promptParam: string,
    onToken: OnToken | undefined,
  ): Promise<GenerationResult> =>
    decodeLoop(stepModel, { promptIds, promptParam, contextLength, eosTokenIds: eos, decode, options, onToken });

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
