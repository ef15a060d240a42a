/**
 * The decode loop of text generation, over an injected model: sampling over each step's
 * logits (sampling.ts), stop sequences with streaming hold-back (text.ts), the length and
 * deadline limits, the abort signal, `n` choices and the streaming callback. It knows no
 * tensors and no tokenizer, so it runs in a test over a fake model whose logits are
 * written by hand (translation/decode.ts is the same idea for translation).
 *
 * Why the library's `model.generate()` is not used: see generator.ts.
 *
 * Choices of an `n > 1` request share one prompt pass: the prompt's cache row is
 * continued by `n` rows, the rows decode as one batch, and a finished row leaves the
 * batch (the model's `step` gathers the cache rows it is told to continue).
 *
 * Between two model steps the loop checks `signal` and the deadline; a step itself gets
 * the signal too, so a model that can stop mid-step (or a per-step time limit, a field
 * that would sit beside `signal` in {@link StepInput}) needs no change here.
 */
import { checkContext, type ResolvedOptions } from './options.ts';
import { applyPenalties, createRng, type Rng, sampleToken } from './sampling.ts';
import { CompletionText, type Decode } from './text.ts';

export type FinishReason = 'stop' | 'length';

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

export type OnToken = (delta: TokenDelta) => void;

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

/** What one model call returns: the next-token logits of each batch row (the loop changes them in place) and the cache. */
export interface StepOutput<C> {
  logits: Float32Array[];
  cache: C;
}

/** One decode step: each batch row continues one row of the previous cache with one token. */
export interface StepInput<C> {
  /** The token fed to each batch row (the last token of the choice it decodes). */
  tokens: readonly number[];
  /** `rows[i]`: the row of `cache` that batch row `i` continues; a row may repeat (one prompt, `n` choices). */
  rows: readonly number[];
  /** Rows in `cache`; `rows` equal to `0..cacheRows-1` means the cache is reused as it is. */
  cacheRows: number;
  cache: C;
  /** Positions the cache already holds (prompt plus tokens generated so far). */
  pastLength: number;
  signal: AbortSignal | undefined;
}

/** The model as the decode loop sees it; `C` is whatever its cache is (KV tensors in generator.ts). */
export interface StepModel<C> {
  /** The prompt pass: the logits after the prompt (one row) and the cache it leaves. */
  prefill(promptIds: readonly number[], signal: AbortSignal | undefined): Promise<StepOutput<C>>;
  step(input: StepInput<C>): Promise<StepOutput<C>>;
}

/** Everything of one generation that is not the model. */
export interface DecodeRequest {
  promptIds: readonly number[];
  /** The request field the prompt came from (`prompt`, `messages`): errors name it. */
  promptParam: string;
  /** Prompt plus completion tokens the model can attend to. */
  contextLength: number;
  /** Any of these ends a choice with `stop` (unless `options.ignoreEos`); counted, never text. */
  eosTokenIds: ReadonlySet<number>;
  /** Token ids to text, as completions are decoded (see text.ts for what it must do). */
  decode: Decode;
  options: ResolvedOptions;
  onToken?: OnToken;
}

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
 * Generates up to `maxTokens` tokens (default: the rest of the context window) for each
 * of `options.n` choices after `promptIds`. Throws the `ValidationError` of
 * {@link checkContext} before the model runs, and `signal.reason` when aborted (checked
 * before the prompt pass and between steps). Each choice streams through `onToken` as
 * text becomes safe to show; its last delta carries the finish reason. A deadline that
 * the next step would cross (judged by the last step's duration) ends every running
 * choice with `length`.
 *
 * @example
 * // A three-token model: the prompt pass favours token 1, every later step token 2 (end of sequence).
 * const model = {
 *   prefill: async () => ({ logits: [Float32Array.of(0, 1, 0)], cache: null }),
 *   step: async ({ tokens }) => ({ logits: tokens.map(() => Float32Array.of(0, 0, 1)), cache: null }),
 * };
 * const result = await decodeLoop(model, { promptIds: [0], promptParam: 'prompt', contextLength: 16,
 *   eosTokenIds: new Set([2]), decode: (ids) => ids.join(','), options: resolveOptions({ temperature: 0 }) });
 * result.choices; // => [{ index: 0, text: '1', tokenIds: [1, 2], finishReason: 'stop' }]
 */
export const decodeLoop = async <C>(model: StepModel<C>, request: DecodeRequest): Promise<GenerationResult> => {
  const { promptIds, options: opts, onToken } = request;
  const started = performance.now();
  const promptTokens = promptIds.length;
  const room = checkContext(request.contextLength, promptTokens, opts.maxTokens, request.promptParam);
  const maxTokens = opts.maxTokens ?? room;
  const sampling = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP };
  const choices: ChoiceState[] = Array.from({ length: opts.n }, (_, index) => ({
    index,
    rng: createRng(opts.seed, index),
    text: new CompletionText(request.decode, opts.stop),
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
  const pastDeadline = (stepMs: number): boolean => opts.deadline !== undefined && Date.now() + stepMs >= opts.deadline;

  opts.signal?.throwIfAborted();
  let active = choices;
  if (pastDeadline(0)) {
    for (const choice of active) finish(choice, 'length');
    active = [];
  }
  let batch = 1;
  let stepStart = performance.now();
  let out = active.length > 0 ? await model.prefill(promptIds, opts.signal) : undefined;
  let pastLength = promptIds.length;
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
      if (!opts.ignoreEos && request.eosTokenIds.has(token)) {
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
    running.forEach((c, i) => {
      c.row = i;
    });
    stepStart = performance.now();
    out = await model.step({
      tokens: running.map((c) => c.tokenIds.at(-1) as number),
      rows,
      cacheRows: batch,
      cache: out.cache,
      pastLength,
      signal: opts.signal,
    });
    batch = running.length;
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
