import { argmax } from '../decoding.ts';

export { argmax };

/**
 * Next-token selection for causal LMs: OpenAI's presence/frequency penalties, then
 * Hugging Face's warper order (temperature -> top-k -> top-p), then a draw from a
 * seeded random stream.
 *
 * Why hand-written: transformers.js 4.3.1 samples with `Math.random` (no seed, so no
 * reproducible sampling), its `TopPLogitsWarper` and `TopKLogitsWarper` are
 * constructors without a `_call` (top-p is never applied; top-k happens inside the
 * sampler), and it has no processor with OpenAI's additive penalty semantics (its
 * `RepetitionPenaltyLogitsProcessor` is the multiplicative CTRL penalty over prompt and
 * completion). Every function here works on one row of logits in place, so the decode
 * loop allocates nothing per token beyond what the model returns.
 */

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

const GOLDEN_GAMMA = 0x9e3779b9;

/** murmur3's 32-bit finaliser: a bijective mix, so distinct inputs stay distinct. */
const fmix32 = (value: number): number => {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};

/**
 * A seeded pseudo-random stream: mulberry32 (Tommy Ettinger's 32-bit generator, period
 * 2^32, passes gjrand/PractRand to 2^32 outputs; plenty for picking a few thousand tokens)
 * started from `(seed, stream)`. Each choice of an `n > 1` request gets its own stream
 * index, so choice `i` depends only on the seed and `i`. Seeds are any safe integer
 * (OpenAI's `seed` is an int64; the high and low 32 bits are both mixed in).
 *
 * Hand-written because the project has no PRNG dependency and this is 10 lines.
 *
 * @example
 * const rng = createRng(42);
 * [rng(), rng()]; // => two numbers in [0, 1), the same two every time for seed 42
 */
export const createRng = (seed: number, stream = 0): Rng => {
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  let state = fmix32(low ^ fmix32(high ^ fmix32(stream + GOLDEN_GAMMA)));
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
};

/** The settings that shape the next-token distribution. */
export interface SamplingSettings {
  /** 0 = greedy (argmax). Otherwise logits are divided by it (OpenAI range 0..2). */
  temperature: number;
  /** Keep only the `topK` highest logits (ties with the k-th kept); 0 = off. */
  topK: number;
  /** Nucleus: keep the smallest set of most likely tokens whose mass reaches `topP`; 1 = off. */
  topP: number;
}

/**
 * OpenAI's penalties, exactly as its API reference defines them, over the tokens this
 * completion has generated so far (not the prompt):
 * `logit[j] -= count[j] * frequencyPenalty + (count[j] > 0 ? presencePenalty : 0)`.
 * Applied to raw logits before temperature, as OpenAI and vLLM do, and in greedy mode too.
 *
 * @example
 * const logits = Float32Array.of(1, 2, 3);
 * applyPenalties(logits, new Map([[2, 3]]), 0.5, 0.25); // token 2 seen 3 times
 * logits; // => Float32Array [1, 2, 1.75]  (3 - 3 * 0.25 - 0.5)
 */
export const applyPenalties = (
  logits: Float32Array,
  counts: ReadonlyMap<number, number>,
  presencePenalty: number,
  frequencyPenalty: number,
): void => {
  if (presencePenalty === 0 && frequencyPenalty === 0) return;
  for (const [token, count] of counts) {
    if (count > 0 && token < logits.length) {
      logits[token] = (logits[token] as number) - count * frequencyPenalty - presencePenalty;
    }
  }
};

/** Above this `k`, top-k sorts a copy of the row instead of keeping a sorted buffer. */
const SMALL_K = 256;

/**
 * The k-th largest value (1-based) of `values`. For small k (the usual 20-100) a sorted
 * buffer of the k best seen so far: most values fall below its minimum and cost one
 * comparison, so a 50k-token row takes well under a millisecond (sorting it takes ~5 ms).
 */
const kthLargest = (values: Float32Array, k: number): number => {
  if (k > SMALL_K) return Float32Array.from(values).sort()[values.length - k] as number;
  const best = new Float64Array(k).fill(Number.NEGATIVE_INFINITY); // ascending: best[0] is the k-th largest
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!(v > (best[0] as number))) continue;
    let j = 0;
    while (j + 1 < k && (best[j + 1] as number) < v) {
      best[j] = best[j + 1] as number;
      j++;
    }
    best[j] = v;
  }
  return best[0] as number;
};

/** Log-probability buckets for the nucleus search: width NUCLEUS_RANGE / NUCLEUS_BUCKETS nats. */
const NUCLEUS_BUCKETS = 512;
const NUCLEUS_RANGE = 32;

/**
 * The smallest kept probability of the nucleus: walking tokens from most to least
 * likely, a token is kept while the mass ranked above it is below `topP * total`.
 * Exact without sorting the vocabulary: tokens are bucketed by log-probability (a lower
 * bucket holds only strictly more likely tokens), whole buckets are kept until the one
 * where the mass crosses the target, and only that bucket is sorted.
 *
 * @param weights unnormalised probabilities `exp(logit - max)` (0 for filtered tokens)
 * @param logits the logits after temperature, `max` their maximum
 * @internal exported for its tests
 * @example
 * const logits = Float32Array.from([0.5, 0.3, 0.15, 0.05], Math.log);
 * nucleusFloor(logits.map((l) => Math.exp(l - Math.log(0.5))), logits, Math.log(0.5), 2, 0.79); // => 0.6 (0.3 / 0.5)
 */
export const nucleusFloor = (
  weights: Float32Array,
  logits: Float32Array,
  max: number,
  total: number,
  topP: number,
): number => {
  const scale = NUCLEUS_BUCKETS / NUCLEUS_RANGE;
  const bucketOf = new Uint16Array(weights.length);
  const mass = new Float64Array(NUCLEUS_BUCKETS);
  for (let i = 0; i < weights.length; i++) {
    const b = Math.min(NUCLEUS_BUCKETS - 1, Math.floor((max - (logits[i] as number)) * scale));
    bucketOf[i] = b;
    mass[b] = (mass[b] as number) + (weights[i] as number);
  }
  const target = topP * total;
  let above = 0;
  let boundary = NUCLEUS_BUCKETS - 1;
  for (let b = 0; b < NUCLEUS_BUCKETS; b++) {
    if (above + (mass[b] as number) >= target) {
      boundary = b;
      break;
    }
    above += mass[b] as number;
  }
  const inBoundary: number[] = [];
  for (let i = 0; i < weights.length; i++) {
    if (bucketOf[i] === boundary && (weights[i] as number) > 0) inBoundary.push(weights[i] as number);
  }
  const sorted = Float64Array.from(inBoundary).sort();
  let floor = 0;
  for (let i = sorted.length - 1; i >= 0; i--) {
    floor = sorted[i] as number;
    above += floor;
    if (above >= target) break;
  }
  return floor;
};

/**
 * Temperatures below this are decoded greedily: dividing float32 logits by 1e-10 or
 * 1e-30 overflows or loses every token to rounding (NaN weights, an arbitrary token), and
 * a temperature this small already puts all the mass on the top token.
 */
export const GREEDY_BELOW_TEMPERATURE = 1e-3;

/**
 * Picks the next token from one row of logits (modified in place). Temperature 0 (or
 * below GREEDY_BELOW_TEMPERATURE) is greedy. Otherwise, in Hugging Face's order: divide by temperature; top-k sets logits
 * below the k-th largest to -Infinity; softmax; top-p keeps the most likely tokens until
 * their mass reaches `topP` (a token is kept when the mass ranked above it is below
 * `topP`, as `TopPLogitsWarper` does; tokens tied with the last kept one are kept too);
 * then one draw from `rng` over the kept mass.
 *
 * @example
 * sampleToken(Float32Array.of(0, 5, 1), { temperature: 0, topK: 0, topP: 1 }, Math.random); // => 1
 * sampleToken(Float32Array.of(0, 5, 1), { temperature: 1, topK: 1, topP: 1 }, createRng(7)); // => 1
 */
export const sampleToken = (logits: Float32Array, settings: SamplingSettings, rng: Rng): number => {
  if (settings.temperature < GREEDY_BELOW_TEMPERATURE) return argmax(logits);
  const vocab = logits.length;
  const t = settings.temperature;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocab; i++) {
    logits[i] = (logits[i] as number) / t;
    // The stored (float32) value, not the double quotient: the softmax subtracts this max from it.
    const v = logits[i] as number;
    if (v > max) max = v;
  }
  if (settings.topK > 0 && settings.topK < vocab) {
    const threshold = kthLargest(logits, settings.topK);
    for (let i = 0; i < vocab; i++) if ((logits[i] as number) < threshold) logits[i] = Number.NEGATIVE_INFINITY;
  }
  // Softmax numerators (-Infinity becomes 0); the logits stay for the nucleus buckets.
  const weights = new Float32Array(vocab);
  let total = 0;
  for (let i = 0; i < vocab; i++) {
    const e = Math.exp((logits[i] as number) - max);
    weights[i] = e;
    total += e;
  }
  const floor = settings.topP < 1 ? nucleusFloor(weights, logits, max, total, settings.topP) : 0;
  let kept = 0;
  for (let i = 0; i < vocab; i++) if ((weights[i] as number) >= floor) kept += weights[i] as number;
  const r = rng() * kept;
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < vocab; i++) {
    const p = weights[i] as number;
    if (p < floor || p === 0) continue;
    cumulative += p;
    last = i;
    if (r < cumulative) return i;
  }
  // Rounding can leave r a hair above the final cumulative sum: the last kept token.
  return last;
};
