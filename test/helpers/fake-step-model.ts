import {
  type DecodeRequest,
  decodeLoop,
  type GenerationResult,
  type StepModel,
  type TokenDelta,
} from '#tasks/generation/decode.ts';
import { type GenerateOptions, resolveOptions } from '#tasks/generation/options.ts';
import { createRng, type SamplingSettings, sampleToken } from '#tasks/generation/sampling.ts';

/**
 * A fake model for the generation decode loop (layers/tasks/generation/decode.ts): its
 * next-token logits are a hand-written function of each row's history. The history
 * travels in the "cache" (one token list per row), as a real KV cache carries the past:
 * if the loop gathered the wrong rows or miscounted positions, the fake would see another
 * history and the answers would change.
 */
export const EOS = 0;
const WORDS = ['<eos>', 'a', 'b', 'c', 'd', 'e', 'f', 'g'];
const VOCAB = WORDS.length;
/** Skips the end-of-sequence token, as the real decode skips special tokens. */
export const decode = (ids: readonly number[]): string => ids.map((id) => (id === EOS ? '' : WORDS[id])).join('');
export const PROMPT = [1, 1, 1];
export const NEVER = Number.NEGATIVE_INFINITY;

export type Logits = (history: readonly number[]) => number[];

/** Logit 5 for `token`, 0 for the others, and never the end of sequence unless it is `token`. */
export const favour = (token: number): number[] =>
  Array.from({ length: VOCAB }, (_, v) => (v === token ? 5 : v === EOS ? NEVER : 0));
/** Greedy walks 1 -> 2 -> ... -> 7 -> 1 ('a' 'b' ... 'g' 'a'), never ending by itself. */
export const cycle: Logits = (h) => favour(((h.at(-1) ?? 0) % 7) + 1);
/** Greedy walks like `cycle` and ends after 'c'. */
export const endsAfterC: Logits = (h) => (h.at(-1) === 3 ? favour(EOS) : cycle(h));
/** Sampling leans towards `cycle`'s next token but goes anywhere, end of sequence included. */
export const drift: Logits = (h) => {
  const next = ((h.at(-1) ?? 0) % 7) + 1;
  return Array.from({ length: VOCAB }, (_, v) => (v === next ? 1.5 : v === EOS ? -0.5 : 0));
};
export const constant =
  (row: number[]): Logits =>
  () =>
    row;

export interface Call {
  kind: 'prefill' | 'step';
  rows: number;
  pastLength: number;
  signal: AbortSignal | undefined;
}

/** A model over `logitsOf`; `onCall` runs inside each call (the n-th call is `calls.length`). */
export const fakeModel = (logitsOf: Logits, onCall?: (calls: readonly Call[]) => void) => {
  const calls: Call[] = [];
  const model: StepModel<number[][]> = {
    prefill: async (ids, signal) => {
      calls.push({ kind: 'prefill', rows: 1, pastLength: 0, signal });
      onCall?.(calls);
      return { logits: [Float32Array.from(logitsOf(ids))], cache: [[...ids]] };
    },
    step: async ({ tokens, rows, cacheRows, cache, pastLength, signal }) => {
      if (cache.length !== cacheRows) throw new Error(`cacheRows ${cacheRows}, cache has ${cache.length}`);
      const histories = rows.map((row, i) => {
        const past = cache[row] as number[];
        if (past.length !== pastLength) throw new Error(`pastLength ${pastLength}, row ${row} holds ${past.length}`);
        return [...past, tokens[i] as number];
      });
      calls.push({ kind: 'step', rows: rows.length, pastLength, signal });
      onCall?.(calls);
      return { logits: histories.map((h) => Float32Array.from(logitsOf(h))), cache: histories };
    },
  };
  return { model, calls };
};

/** Runs the loop on `PROMPT` (context 64) and collects the streamed deltas. */
export const generate = async (
  model: StepModel<number[][]>,
  options: GenerateOptions,
  request: Partial<DecodeRequest> = {},
): Promise<{ result: GenerationResult; deltas: TokenDelta[] }> => {
  const deltas: TokenDelta[] = [];
  const result = await decodeLoop(model, {
    promptIds: PROMPT,
    promptParam: 'prompt',
    contextLength: 64,
    eosTokenIds: new Set([EOS]),
    decode,
    options: resolveOptions(options),
    onToken: (d) => deltas.push(d),
    ...request,
  });
  return { result, deltas };
};

/** The tokens `sampleToken` draws for one choice, replayed without the loop: its own history, its own stream. */
export const replay = (logitsOf: Logits, settings: SamplingSettings, seed: number, index: number, tokens: number[]) => {
  const rng = createRng(seed, index);
  const history = [...PROMPT];
  return tokens.map((token) => {
    const drawn = sampleToken(Float32Array.from(logitsOf(history)), settings, rng);
    history.push(token);
    return drawn;
  });
};
