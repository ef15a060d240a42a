/**
 * Encoder-decoder generation (greedy and beam search) over a transformers.js seq2seq model.
 *
 * Why hand-written rather than `model.generate()`: transformers.js 4.3.1 has a
 * `BeamSearchSampler`, but its `generate()` loop keeps only the first candidate of each
 * row (`break` after one token), so `num_beams > 1` silently decodes greedily; there is
 * no beam bookkeeping, no hypothesis scoring and no cache reordering. It also applies
 * one `max_length` (and so `forced_eos_token_id`) to the whole batch, keeps decoding
 * rows that already emitted `</s>`, and never shrinks the batch. Translation needs a
 * per-row length bound (relative to each input's length) for batch output to equal
 * single output exactly, and dropping finished rows saves most of the decoder work of
 * a batch. So this file owns the decoding loop; everything under it stays the library's:
 * the encoder run, the merged decoder's `use_cache_branch` plumbing and the empty first
 * cache all go through transformers.js (`_prepare_encoder_decoder_kwargs_for_generation`
 * and `model.forward`).
 *
 * Semantics follow Hugging Face `generate()`: the decoder starts from
 * `decoder_start_token_id`; `forced_bos_token_id` is the first generated token (NLLB /
 * M2M100 target language); `forced_eos_token_id` is forced at a row's last allowed
 * step; single-token `bad_words_ids` are never generated; beam search scores finished
 * hypotheses by `sum(logprobs) / generated_length ** length_penalty` and stops a
 * sentence when `num_beams` hypotheses are finished and no running beam can beat the
 * worst of them (`early_stopping: false`) or at once (`early_stopping: true`).
 */
import { type PreTrainedModel, Tensor } from '@huggingface/transformers';
import { argmax, gatherRows, isIdentity, type KvCache, readStep } from '../decoding.ts';

/** Special tokens and processors read once from the model's generation config. */
export interface DecodeSettings {
  decoderStartTokenId: number;
  eosTokenIds: ReadonlySet<number>;
  padTokenId: number;
  /** Forced as the first generated token (NLLB / M2M100: the target language). */
  forcedBosTokenId?: number;
  /** Forced as the last token when a row reaches its length bound (Marian: `</s>`). */
  forcedEosTokenId?: number;
  /** Never generated (single-token `bad_words_ids`; Marian bans `<pad>`). */
  suppressTokenIds: readonly number[];
  lengthPenalty: number;
  earlyStopping: boolean;
  /** Checked before every decoder step: aborting rejects the search with the signal's reason. */
  signal?: AbortSignal;
}

/** One source sequence: encoder token ids and how many tokens the decoder may add. */
export interface DecodeRow {
  inputIds: readonly number[];
  maxNewTokens: number;
}

// The tensors the merged decoder caches, keyed by their `past_key_values.*` input names.
type Cache = KvCache;

/** The decoder inputs that follow the rows of a batch when rows are dropped or reordered. */
interface BatchState {
  encoderHiddenStates: Tensor;
  encoderAttentionMask: Tensor;
  cache: Cache | undefined;
}

const gatherState = (state: BatchState, rows: readonly number[]): BatchState => {
  if (isIdentity(rows, state.encoderHiddenStates.dims[0] ?? 0)) return state;
  const cache: Cache | undefined = state.cache
    ? Object.fromEntries(Object.entries(state.cache).map(([name, t]) => [name, gatherRows(t, rows)]))
    : undefined;
  return {
    encoderHiddenStates: gatherRows(state.encoderHiddenStates, rows),
    encoderAttentionMask: gatherRows(state.encoderAttentionMask, rows),
    cache,
  };
};

/** Right-pads the rows with `padTokenId` and runs the encoder once for the whole batch. */
const encode = async (model: PreTrainedModel, rows: readonly DecodeRow[], padTokenId: number): Promise<BatchState> => {
  const width = Math.max(...rows.map((r) => r.inputIds.length));
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(padTokenId));
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((row, i) => {
    row.inputIds.forEach((id, j) => {
      ids[i * width + j] = BigInt(id);
      mask[i * width + j] = 1n;
    });
  });
  const inputIds = new Tensor('int64', ids, [rows.length, width]);
  const attentionMask = new Tensor('int64', mask, [rows.length, width]);
  // The library's own encoder step (picks the encoder session's inputs, runs it).
  const prepared = await model._prepare_encoder_decoder_kwargs_for_generation({
    inputs_tensor: inputIds,
    model_inputs: { input_ids: inputIds, attention_mask: attentionMask },
    model_input_name: 'input_ids',
    generation_config: { guidance_scale: null },
  });
  return {
    encoderHiddenStates: prepared.encoder_outputs as Tensor,
    encoderAttentionMask: attentionMask,
    cache: undefined,
  };
};

/**
 * One decoder step for every row: feeds each row's last token, returns the next-token
 * logits (one `Float32Array` view per row) and the state with the updated cache.
 */
const step = async (
  model: PreTrainedModel,
  state: BatchState,
  lastTokens: readonly number[],
): Promise<{ logits: Float32Array[]; state: BatchState }> => {
  const decoderInputIds = new Tensor('int64', BigInt64Array.from(lastTokens, BigInt), [lastTokens.length, 1]);
  // `model.forward` is typed `any` in transformers.js; the fields used are checked below.
  const outputs: Record<string, Tensor> = await model.forward({
    encoder_outputs: state.encoderHiddenStates,
    attention_mask: state.encoderAttentionMask,
    decoder_input_ids: decoderInputIds,
    // Undefined on the first step: the library then feeds empty pasts and `use_cache_branch=false`.
    past_key_values: state.cache,
  });
  const { logits, cache } = readStep(outputs, 'decoder');
  return { logits, state: { ...state, cache } };
};

/**
 * Applies the generation-config processors to one row's logits in place: the forced
 * first token, the forced last token and the banned tokens.
 */
const processLogits = (logits: Float32Array, generated: number, maxNewTokens: number, s: DecodeSettings): void => {
  const forced =
    generated === 0 && s.forcedBosTokenId !== undefined
      ? s.forcedBosTokenId
      : generated === maxNewTokens - 1 && s.forcedEosTokenId !== undefined
        ? s.forcedEosTokenId
        : undefined;
  if (forced !== undefined) {
    const keep = logits[forced] ?? 0;
    logits.fill(Number.NEGATIVE_INFINITY);
    logits[forced] = keep;
    return;
  }
  for (const id of s.suppressTokenIds) logits[id] = Number.NEGATIVE_INFINITY;
};

/**
 * Greedy decoding of a batch. Returns, per row and in row order, the decoder sequence
 * as Hugging Face `generate()` returns it: decoder start token, generated tokens, and
 * the end-of-sequence token when the row ended on its own.
 *
 * @example
 * await greedySearch(model, [{ inputIds: [2047, 954, 2], maxNewTokens: 20 }], settings);
 * // => [[2, 2057, 2147, 794, ...]]
 */
export const greedySearch = async (
  model: PreTrainedModel,
  rows: readonly DecodeRow[],
  settings: DecodeSettings,
): Promise<number[][]> => {
  const sequences = rows.map(() => [settings.decoderStartTokenId]);
  if (rows.length === 0) return sequences;
  let state = await encode(model, rows, settings.padTokenId);
  // `active[i]` is the input row that batch row i decodes.
  let active = rows.map((_, i) => i).filter((i) => (rows[i]?.maxNewTokens ?? 0) > 0);
  state = gatherState(state, active);
  while (active.length > 0) {
    settings.signal?.throwIfAborted();
    const out = await step(
      model,
      state,
      active.map((i) => sequences[i]?.at(-1) ?? settings.decoderStartTokenId),
    );
    const keep: number[] = [];
    active.forEach((rowIndex, batchIndex) => {
      const sequence = sequences[rowIndex] as number[];
      const maxNewTokens = rows[rowIndex]?.maxNewTokens ?? 0;
      const logits = out.logits[batchIndex] as Float32Array;
      processLogits(logits, sequence.length - 1, maxNewTokens, settings);
      const next = argmax(logits);
      sequence.push(next);
      if (!settings.eosTokenIds.has(next) && sequence.length - 1 < maxNewTokens) keep.push(batchIndex);
    });
    state = gatherState(out.state, keep);
    active = keep.map((b) => active[b] as number);
  }
  return sequences;
};

interface Beam {
  tokens: number[];
  /** Sum of the log-probabilities of the generated tokens. */
  score: number;
}

interface Hypothesis {
  tokens: number[];
  /** Length-normalised score: `sum(logprobs) / generated_length ** length_penalty`. */
  score: number;
}

/** The sentence-level bookkeeping of beam search (Hugging Face's `BeamHypotheses`). */
class SentenceBeams {
  beams: Beam[];
  readonly finished: Hypothesis[] = [];
  done = false;

  constructor(
    start: number,
    readonly maxNewTokens: number,
    readonly numBeams: number,
    readonly settings: DecodeSettings,
  ) {
    this.beams = [{ tokens: [start], score: 0 }];
    this.done = maxNewTokens <= 0;
  }

  private normalise(sum: number, generatedLength: number): number {
    return sum / Math.max(1, generatedLength) ** this.settings.lengthPenalty;
  }

  private addHypothesis(tokens: number[], sum: number): void {
    const score = this.normalise(sum, tokens.length - 1);
    if (this.finished.length < this.numBeams) this.finished.push({ tokens, score });
    else if (score > (this.finished.at(-1)?.score ?? Number.NEGATIVE_INFINITY))
      this.finished[this.numBeams - 1] = { tokens, score };
    else return;
    this.finished.sort((a, b) => b.score - a.score);
  }

  /**
   * Takes the next-token log-probabilities of every running beam (same order as
   * `beams`) and keeps the best `numBeams` continuations. Returns, for each new beam,
   * the index of the beam it continues (to reorder the KV cache).
   */
  advance(logprobs: readonly Float32Array[]): number[] {
    const k = this.numBeams;
    // The best 2k (beam, token) candidates: at most k of them can end with `</s>`, so k
    // running beams always remain (as in Hugging Face).
    const candidates: Array<{ beam: number; token: number; score: number }> = [];
    const limit = 2 * k;
    logprobs.forEach((row, beam) => {
      const base = this.beams[beam]?.score ?? 0;
      for (let token = 0; token < row.length; token++) {
        const lp = row[token] as number;
        if (lp === Number.NEGATIVE_INFINITY) continue;
        const score = base + lp;
        if (candidates.length === limit && score <= (candidates[limit - 1]?.score ?? 0)) continue;
        // Insertion into a short sorted list; ties keep (beam, token) order, so results are deterministic.
        let at = candidates.length;
        while (at > 0 && (candidates[at - 1]?.score ?? 0) < score) at--;
        candidates.splice(at, 0, { beam, token, score });
        if (candidates.length > limit) candidates.pop();
      }
    });
    const next: Beam[] = [];
    const parents: number[] = [];
    for (const [rank, c] of candidates.entries()) {
      const parent = this.beams[c.beam] as Beam;
      if (this.settings.eosTokenIds.has(c.token)) {
        if (rank < k) this.addHypothesis([...parent.tokens, c.token], c.score);
        continue;
      }
      next.push({ tokens: [...parent.tokens, c.token], score: c.score });
      parents.push(c.beam);
      if (next.length === k) break;
    }
    this.beams = next;
    const generated = (next[0]?.tokens.length ?? 1) - 1;
    if (next.length === 0) this.done = true;
    else if (generated >= this.maxNewTokens) {
      // Out of room: running beams compete with the finished ones as they are.
      for (const beam of next) this.addHypothesis(beam.tokens, beam.score);
      this.done = true;
    } else if (this.finished.length === k) {
      const worst = this.finished.at(-1)?.score ?? Number.NEGATIVE_INFINITY;
      const bestRunning = this.normalise(next[0]?.score ?? Number.NEGATIVE_INFINITY, generated + 1);
      this.done = this.settings.earlyStopping || worst >= bestRunning;
    }
    if (this.done) {
      this.beams = [];
      return [];
    }
    return parents;
  }

  /** The finished hypotheses, best first (the running beams when none finished). */
  ranked(): number[][] {
    const hypotheses = this.finished.length ? this.finished : this.beams;
    return hypotheses.length ? hypotheses.map((h) => h.tokens) : [[]];
  }
}

/** In-place log-softmax of one row (`-Infinity` entries stay `-Infinity`). */
const logSoftmax = (row: Float32Array): Float32Array => {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if ((row[i] as number) > max) max = row[i] as number;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp((row[i] as number) - max);
  const logZ = max + Math.log(sum);
  for (let i = 0; i < row.length; i++) row[i] = (row[i] as number) - logZ;
  return row;
};

/**
 * Beam search over a batch of sentences: each sentence keeps up to `numBeams` running
 * beams, all sentences' beams run through the decoder together, the KV cache follows
 * the beams, and finished sentences leave the batch. Returns the best hypothesis per
 * row, shaped like {@link greedySearch}'s output.
 *
 * @example
 * await beamSearch(model, [{ inputIds: [2047, 954, 2], maxNewTokens: 20 }], settings, 4);
 * // => [[2, 2057, 1057, ..., 2]]
 */
export const beamSearch = async (
  model: PreTrainedModel,
  rows: readonly DecodeRow[],
  settings: DecodeSettings,
  numBeams: number,
): Promise<number[][]> => (await rankedBeamSearch(model, rows, settings, numBeams)).map((r) => r[0] ?? []);

/**
 * {@link beamSearch} with every finished hypothesis of each row (up to `numBeams`), best
 * first by length-normalised score: the n-best list alternatives are read from.
 *
 * @example
 * await rankedBeamSearch(model, [{ inputIds: [2047, 954, 2], maxNewTokens: 20 }], settings, 3);
 * // => [[[2, 2057, 1057, ..., 2], [2, 2057, 3104, ..., 2], [2, 2057, ..., 2]]]
 */
export const rankedBeamSearch = async (
  model: PreTrainedModel,
  rows: readonly DecodeRow[],
  settings: DecodeSettings,
  numBeams: number,
): Promise<number[][][]> => {
  if (rows.length === 0) return [];
  const sentences = rows.map(
    (r) => new SentenceBeams(settings.decoderStartTokenId, r.maxNewTokens, numBeams, settings),
  );
  let state = await encode(model, rows, settings.padTokenId);
  // Batch row b decodes beam `owner[b].beam` of sentence `owner[b].sentence`.
  let owner = sentences.flatMap((s, i) => (s.done ? [] : [{ sentence: i, beam: 0 }]));
  state = gatherState(
    state,
    owner.map((o) => o.sentence),
  );
  while (owner.length > 0) {
    settings.signal?.throwIfAborted();
    const out = await step(
      model,
      state,
      owner.map((o) => sentences[o.sentence]?.beams[o.beam]?.tokens.at(-1) ?? settings.decoderStartTokenId),
    );
    const perSentence = new Map<number, { batchRows: number[]; logprobs: Float32Array[] }>();
    owner.forEach((o, b) => {
      const sentence = sentences[o.sentence] as SentenceBeams;
      const logits = out.logits[b] as Float32Array;
      const generated = (sentence.beams[o.beam]?.tokens.length ?? 1) - 1;
      processLogits(logits, generated, sentence.maxNewTokens, settings);
      const entry = perSentence.get(o.sentence) ?? { batchRows: [], logprobs: [] };
      entry.batchRows.push(b);
      entry.logprobs.push(logSoftmax(logits));
      perSentence.set(o.sentence, entry);
    });
    const gather: number[] = [];
    const nextOwner: Array<{ sentence: number; beam: number }> = [];
    for (const [index, entry] of perSentence) {
      const parents = (sentences[index] as SentenceBeams).advance(entry.logprobs);
      parents.forEach((parent, beam) => {
        gather.push(entry.batchRows[parent] as number);
        nextOwner.push({ sentence: index, beam });
      });
    }
    state = gatherState(out.state, gather);
    owner = nextOwner;
  }
  return sentences.map((s) => s.ranked());
};
