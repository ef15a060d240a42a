import { Tensor } from '@huggingface/transformers';

/**
 * What the two autoregressive decoders (generation and translation) share: reading one
 * decoder step's outputs. Plain TypeScript over transformers.js tensors.
 */

/** Decoder KV cache, keyed by the `past_key_values.*` input names of the next step. */
export type KvCache = Record<string, Tensor>;

/**
 * Index of the largest value; the first one on ties (as `torch.argmax`).
 *
 * @example
 * argmax([0.1, 3, 3, -1]); // => 1
 */
export const argmax = (values: ArrayLike<number>): number => {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
};

/**
 * The logits of each row's last position (a copy the caller may change in place) and
 * the `present.*` outputs renamed as the next step's `past_key_values.*` inputs.
 *
 * @example
 * const { logits, cache } = readStep(await model.forward(inputs), 'decoder');
 * logits.length; // => rows in the batch
 */
export const readStep = (outputs: Record<string, Tensor>, what: string): { logits: Float32Array[]; cache: KvCache } => {
  const logitsTensor = outputs.logits;
  if (!logitsTensor) throw new Error(`The ${what} returned no "logits" output.`);
  const [rows = 0, positions = 0, vocab = 0] = logitsTensor.dims;
  const data =
    logitsTensor.type === 'float32'
      ? (logitsTensor.data as Float32Array)
      : Float32Array.from(logitsTensor.data as ArrayLike<number>);
  const logits = Array.from({ length: rows }, (_, r) => {
    const start = (r * positions + positions - 1) * vocab;
    return data.slice(start, start + vocab);
  });
  const cache: KvCache = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    if (name.startsWith('present')) cache[name.replace('present', 'past_key_values')] = tensor;
  }
  return { logits, cache };
};

// Typed arrays share this much of their API; enough to copy rows between tensors.
type RowArray = {
  readonly length: number;
  subarray(begin: number, end: number): RowArray;
  set(source: RowArray, offset: number): void;
};

/**
 * Copies rows `rows` (first dimension) of `tensor` into a new tensor, in that order; a
 * row may repeat (one prompt pass becoming `n` choices, beams following their parent).
 *
 * @example
 * gatherRows(tensorOfShape([3, 2, 4]), [2, 2]).dims; // => [2, 2, 4], both copies of row 2
 */
export const gatherRows = (tensor: Tensor, rows: readonly number[]): Tensor => {
  const [batch = 0, ...rest] = tensor.dims;
  const data = tensor.data as unknown as RowArray;
  const rowSize = batch === 0 ? 0 : data.length / batch;
  const Ctor = (tensor.data as unknown as { constructor: new (n: number) => RowArray }).constructor;
  const out = new Ctor(rows.length * rowSize);
  rows.forEach((row, i) => {
    out.set(data.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize);
  });
  // Tensor's constructor types want a DataArray; `out` is one (same class as `tensor.data`).
  return new Tensor(tensor.type, out as unknown as Tensor['data'], [rows.length, ...rest]);
};

/** True when gathering `rows` out of a batch of `size` would change nothing. */
export const isIdentity = (rows: readonly number[], size: number): boolean =>
  rows.length === size && rows.every((row, i) => row === i);
