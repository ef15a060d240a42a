import { AutoModelForSeq2SeqLM, type PreTrainedTokenizer } from '@huggingface/transformers';
import { ValidationError } from '#runtime/errors.ts';
import type { ModelSource } from '#runtime/onnx.ts';
import { findLanguage } from '#tasks/languages/index.ts';
import { type LoadBundleOptions, loadBundle } from '../loading.ts';
import { type DecodeRow, type DecodeSettings, greedySearch, rankedBeamSearch } from './decode.ts';
import { languageResolver } from './languages.ts';

export interface LoadTranslatorOptions extends LoadBundleOptions {
  /** Sentences per decoder batch (times `numBeams` rows for beam search). Default 16. */
  batchSize?: number;
  /** Upper bound on new tokens per sentence; default from the generation config's `max_length`. */
  maxNewTokensCap?: number;
}

export interface TranslateOptions {
  /**
   * Source language: FLORES-200 (`eng_Latn`), ISO 639-1 (`en`) or ISO 639-3 (`eng`); or one
   * code per text (same length as the texts), e.g. when each text's language was detected.
   * Texts of different source languages still share mini-batches.
   */
  source: string | readonly string[];
  /** Target language, same forms as `source`. */
  target: string;
  /** The invocation's: checked between decoder steps (its deadline, or the client leaving). */
  signal?: AbortSignal;
  /**
   * A further bound on new tokens per text (same order as the texts): translateDocuments
   * shares one text's output budget among its sentences, so many short sentences cannot
   * each take the per-sentence allowance.
   */
  maxNewTokensEach?: readonly number[];
  /**
   * 1 or absent: greedy. More: beam search with that many beams, an integer up to
   * {@link MAX_BEAMS}. The request contract checks this range (functions/translate), not
   * the translator: it does not depend on the model.
   */
  numBeams?: number;
  /** Tightens the per-sentence bound on new tokens (see {@link Translator.maxNewTokensFor}); a positive integer. */
  maxNewTokens?: number;
  /**
   * Up to this many alternative translations per text, the next hypotheses of a beam
   * search with at least `alternatives + 1` beams (distinct, the translation excluded).
   */
  alternatives?: number;
}

export interface Translation {
  text: string;
  /**
   * The decoder sequence as Hugging Face `generate()` returns it: decoder start token,
   * forced target-language token (NLLB / M2M100), generated tokens, and the
   * end-of-sequence token when the model ended the sentence itself. Empty for an
   * input that is empty or only whitespace (nothing was translated).
   */
  tokenIds: number[];
  /** With `alternatives`: the next-best distinct translations, best first. */
  alternatives?: string[];
}

/** The most beams a request may ask for: each beam is a decoder row per sentence. */
export const MAX_BEAMS = 8;

export interface Translator {
  /**
   * `multilingual`: the tokenizer has language tokens (NLLB, M2M100), any supported pair
   * works. `fixed-pair`: a Marian-style model with one direction ({@link fixedPair}).
   */
  readonly kind: 'multilingual' | 'fixed-pair';
  /** The direction of a fixed-pair model, as FLORES codes when the table knows them. */
  readonly fixedPair?: { source: string; target: string };
  /** Tokens (with special tokens) the encoder accepts for one input. */
  readonly maxInputTokens: number;
  /**
   * Longest source (in tokens, with special tokens) that {@link translateDocuments} sends
   * as one piece: short enough that the length rule never cuts its translation short.
   */
  readonly maxSourceTokens: number;
  /** The configured upper bound on new tokens per sentence. */
  readonly maxNewTokensCap: number;
  /**
   * Supported FLORES-200 codes: the tokenizer's language tokens (multilingual), the
   * fixed pair (Marian, when its config names it), or `[]` for a fixed pair of unknown
   * languages.
   */
  languages(): string[];
  /** Encoder input ids for `text` in language `source` (with the model's special tokens). */
  encode(text: string, source: string): number[];
  /** Token count of `text` as the encoder sees it (with special tokens). */
  countTokens(text: string): number;
  /**
   * The length rule: new tokens allowed for a source of `inputTokens` tokens are
   * `min(cap, requested ?? cap, 2 * inputTokens + 10)`. Twice the source length covers
   * real translations (target/source token ratios stay well under 2 even for verbose
   * scripts) while a degenerate, repeating output stops early instead of running to the
   * model's `max_length`. The decoder start token is not counted; the forced language
   * token is (as in `max_new_tokens`).
   */
  maxNewTokensFor(inputTokens: number, requested?: number): number;
  /**
   * Translates each text as one sequence (no sentence splitting: see
   * {@link translateDocuments} for long texts). Sorts by length into mini-batches,
   * pads each, and returns results in input order; batch output equals single output.
   * Throws a `ValidationError` for what depends on this model: a language code it does
   * not support (`languageResolver`), a pair a fixed-pair model does not translate, a text
   * longer than its encoder window.
   */
  translate(texts: readonly string[], options: TranslateOptions): Promise<Translation[]>;
  dispose(): Promise<void>;
}

const DEFAULT_BATCH_SIZE = 16;

// Fields read from config.json / generation_config.json; transformers.js types them loosely.
interface ModelConfig {
  model_type?: string;
  max_position_embeddings?: number;
}
interface GenerationFields {
  decoder_start_token_id?: number | null;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
  forced_bos_token_id?: number | null;
  forced_eos_token_id?: number | number[] | null;
  bad_words_ids?: number[][] | null;
  length_penalty?: number | null;
  early_stopping?: boolean | 'never' | null;
  max_length?: number | null;
}

const asArray = (v: number | number[] | null | undefined): number[] =>
  v === null || v === undefined ? [] : Array.isArray(v) ? v : [v];

/** FLORES code for a tokenizer language code (`__fr__` style M2M100 codes are ISO 639-1). */
const toFlores = (code: string): string => findLanguage(code)?.flores ?? code;

/**
 * The model's language tokens, keyed by FLORES code. NLLB tokens are FLORES codes
 * (`fra_Latn`); M2M100 tokens wrap ISO 639-1 codes (`__fr__`); Marian has none.
 */
const languageTokens = (tokenizer: PreTrainedTokenizer): Map<string, number> => {
  const t = tokenizer as PreTrainedTokenizer & { language_codes?: unknown; lang_to_token?: unknown };
  const out = new Map<string, number>();
  if (!Array.isArray(t.language_codes) || typeof t.lang_to_token !== 'function') return out;
  const vocab = tokenizer.get_vocab();
  for (const code of t.language_codes as string[]) {
    const id = vocab.get((t.lang_to_token as (c: string) => string)(code));
    if (id !== undefined) out.set(toFlores(code), id);
  }
  return out;
};

/**
 * The special tokens the tokenizer's post-processor puts around a text, found by
 * encoding a probe with and without them. Language tokens among them mark the slot
 * where the source language goes (NLLB: `[src] text </s>`; legacy NLLB: `text </s> [src]`).
 * Building inputs from this template, instead of the library's `_build_translation_inputs`
 * (which rewrites the shared post-processor per call), keeps the tokenizer stateless.
 */
const specialTemplate = (tokenizer: PreTrainedTokenizer): { prefix: number[]; suffix: number[] } => {
  const probe = 'a b';
  const full = tokenizer.encode(probe);
  const body = tokenizer.encode(probe, { add_special_tokens: false });
  for (let start = 0; start + body.length <= full.length; start++) {
    if (body.every((id, j) => full[start + j] === id)) {
      return { prefix: full.slice(0, start), suffix: full.slice(start + body.length) };
    }
  }
  throw new Error('Cannot find the special-token template of this tokenizer (the probe text is not in its output).');
};

/**
 * Loads a translation bundle (tokenizer + ONNX encoder and merged decoder) from a local
 * folder (or a cached bundle, preferring its pre-optimised graphs: `modelSource`): NLLB-200,
 * M2M100 or Marian (opus-mt) exports in the transformers.js layout. Nothing is downloaded
 * (`loadBundle`).
 *
 * @example
 * const translator = await loadTranslator('/mnt/models/nllb-200-distilled-600m/1', { dtype: 'q8' });
 * await translator.translate(['Hello, world!'], { source: 'eng_Latn', target: 'fra_Latn' });
 * // => [{ text: 'Bonjour, le monde !', tokenIds: [2, 256057, ...] }]
 */
export const loadTranslator = async (source: ModelSource, options: LoadTranslatorOptions = {}): Promise<Translator> => {
  const { dir: bundleDir, tokenizer, model } = await loadBundle(source, AutoModelForSeq2SeqLM, options);
  const config = model.config as unknown as ModelConfig;
  // Library defaults merged with config.json and generation_config.json.
  const gen = model._prepare_generation_config(null, {}) as unknown as GenerationFields;
  const declared = (model.generation_config ?? {}) as unknown as GenerationFields;

  const langTokens = languageTokens(tokenizer);
  const template = specialTemplate(tokenizer);
  const langIds = new Set(langTokens.values());
  const multilingual = langTokens.size > 0;
  const tokenizerConfig = (tokenizer as unknown as { config?: { source_lang?: string; target_lang?: string } }).config;
  const fixedPair =
    !multilingual && tokenizerConfig?.source_lang && tokenizerConfig.target_lang
      ? { source: toFlores(tokenizerConfig.source_lang), target: toFlores(tokenizerConfig.target_lang) }
      : undefined;
  const supported = multilingual
    ? [...langTokens.keys()].sort()
    : fixedPair
      ? [fixedPair.source, fixedPair.target]
      : [];

  const eosTokenIds = new Set(asArray(gen.eos_token_id ?? tokenizer.eos_token_id));
  const padTokenId = gen.pad_token_id ?? tokenizer.pad_token_id;
  const decoderStartTokenId = gen.decoder_start_token_id ?? gen.bos_token_id;
  if (decoderStartTokenId === null || decoderStartTokenId === undefined || eosTokenIds.size === 0) {
    throw new Error(`${bundleDir}: the generation config names no decoder_start_token_id or eos_token_id.`);
  }
  const baseSettings: DecodeSettings = {
    decoderStartTokenId,
    eosTokenIds,
    padTokenId: padTokenId ?? 0,
    forcedBosTokenId: gen.forced_bos_token_id ?? undefined,
    forcedEosTokenId: asArray(gen.forced_eos_token_id)[0],
    // Multi-token bad words need n-gram matching; no translation export we serve uses them.
    suppressTokenIds: (gen.bad_words_ids ?? []).filter((w) => w.length === 1).map((w) => w[0] as number),
    lengthPenalty: gen.length_penalty ?? 1,
    earlyStopping: gen.early_stopping === true,
  };

  const tokenizerMax = Number(tokenizer.model_max_length);
  const maxInputTokens = Math.min(
    config.max_position_embeddings ?? Number.POSITIVE_INFINITY,
    Number.isFinite(tokenizerMax) && tokenizerMax > 0 ? tokenizerMax : Number.POSITIVE_INFINITY,
  );
  // `max_length` counts the decoder start token; the default GenerationConfig's 20 is not a model setting.
  const declaredMaxLength = declared.max_length ?? undefined;
  const maxNewTokensCap = Math.max(
    1,
    Math.min(
      options.maxNewTokensCap ?? Number.POSITIVE_INFINITY,
      declaredMaxLength ? declaredMaxLength - 1 : Number.POSITIVE_INFINITY,
      Number.isFinite(maxInputTokens) ? maxInputTokens - 1 : 1024,
    ),
  );
  const maxSourceTokens = Math.max(
    template.prefix.length + template.suffix.length + 1,
    Math.min(maxInputTokens, Math.floor((maxNewTokensCap - 10) / 2)),
  );
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);

  const maxNewTokensFor = (inputTokens: number, requested?: number): number =>
    Math.max(1, Math.min(maxNewTokensCap, requested ?? maxNewTokensCap, 2 * inputTokens + 10));

  const encode = (text: string, source: string): number[] => {
    const srcId = langTokens.get(source);
    const fill = (ids: number[]) => ids.map((id) => (srcId !== undefined && langIds.has(id) ? srcId : id));
    return [
      ...fill(template.prefix),
      ...tokenizer.encode(text, { add_special_tokens: false }),
      ...fill(template.suffix),
    ];
  };

  const checkPair = (source: string, target: string): void => {
    if (!fixedPair) return;
    if (source !== fixedPair.source || target !== fixedPair.target) {
      throw new ValidationError(
        `This model translates only ${fixedPair.source} -> ${fixedPair.target}, not ${source} -> ${target}. ` +
          'Choose that pair, or a multilingual model (GET /v1/languages lists what the loaded model supports).',
        { details: { supported: fixedPair } },
      );
    }
  };

  const translate = async (texts: readonly string[], opts: TranslateOptions): Promise<Translation[]> => {
    const wanted = opts.alternatives ?? 0;
    const numBeams = Math.max(opts.numBeams ?? 1, wanted > 0 ? wanted + 1 : 1);
    if (typeof opts.source !== 'string' && opts.source.length !== texts.length) {
      throw new Error(`translate: ${opts.source.length} source codes for ${texts.length} texts; give one per text.`);
    }
    const resolve = languageResolver(supported);
    const target = resolve(opts.target, 'target_language');
    const sourceOf = (index: number): string => {
      const code = typeof opts.source === 'string' ? opts.source : (opts.source[index] as string);
      const source = resolve(code, 'source_language');
      checkPair(source, target);
      return source;
    };
    const settings: DecodeSettings = {
      ...baseSettings,
      ...(multilingual ? { forcedBosTokenId: langTokens.get(target) } : {}),
      signal: opts.signal,
    };

    const results: Translation[] = texts.map(() => ({
      text: '',
      tokenIds: [],
      ...(wanted > 0 ? { alternatives: [] } : {}),
    }));
    const rows: Array<DecodeRow & { index: number }> = [];
    texts.forEach((text, index) => {
      if (text.trim() === '') return;
      const inputIds = encode(text, sourceOf(index));
      if (inputIds.length > maxInputTokens) {
        throw new ValidationError(
          `Text ${index} is ${inputIds.length} tokens long; the model reads at most ${maxInputTokens}. ` +
            'Split it into sentences (translateDocuments does) or shorten it.',
          { details: { index, tokens: inputIds.length, maxTokens: maxInputTokens } },
        );
      }
      const bound = maxNewTokensFor(inputIds.length, opts.maxNewTokens);
      rows.push({ index, inputIds, maxNewTokens: Math.min(bound, opts.maxNewTokensEach?.[index] ?? bound) });
    });
    // Longest first, so each mini-batch holds similar lengths and pads little; a stable
    // sort keeps equal lengths in input order.
    rows.sort((a, b) => b.inputIds.length - a.inputIds.length);
    for (let start = 0; start < rows.length; start += batchSize) {
      const batch = rows.slice(start, start + batchSize);
      // One beam is greedy search, as in Hugging Face generate().
      const ranked =
        numBeams === 1
          ? (await greedySearch(model, batch, settings)).map((s) => [s])
          : await rankedBeamSearch(model, batch, settings, numBeams);
      const decode = (ids: number[]) => tokenizer.decode(ids, { skip_special_tokens: true });
      batch.forEach((row, i) => {
        const [tokenIds = [], ...others] = ranked[i] ?? [];
        const text = decode(tokenIds);
        const alternatives = [...new Set(others.map(decode))].filter((t) => t !== text).slice(0, wanted);
        results[row.index] = { text, tokenIds, ...(wanted > 0 ? { alternatives } : {}) };
      });
    }
    return results;
  };

  return {
    kind: multilingual ? 'multilingual' : 'fixed-pair',
    fixedPair,
    maxInputTokens,
    maxSourceTokens,
    maxNewTokensCap,
    languages: () => [...supported],
    encode,
    countTokens: (text) =>
      template.prefix.length + template.suffix.length + tokenizer.encode(text, { add_special_tokens: false }).length,
    maxNewTokensFor,
    translate,
    dispose: async () => {
      await model.dispose();
    },
  };
};
