import type { InferenceSession } from 'onnxruntime-node';
import type { TensorData } from './ort-worker.ts';

/** Sizes of the sample inputs: small, but more than one of each so no axis is degenerate. */
const BATCH = 2;
const SEQUENCE = 4;
const ENCODER_SEQUENCE = 6;
const PAST = 3;

/**
 * Size of a symbolic dimension, from the names Hugging Face Optimum exports use
 * (`batch_size`, `sequence_length`, `past_sequence_length`, `total_sequence_length`,
 * `encoder_sequence_length`, `encoder_sequence_length_out`, ...). An unknown name throws:
 * no sample, no optimised copy.
 */
const dimension = (name: string, past: number): number => {
  if (name.includes('batch')) return BATCH;
  if (name.includes('past')) return past;
  if (name.startsWith('total_sequence')) return past + SEQUENCE;
  // The cross-attention cache: empty on the first step (as transformers.js feeds it), the encoder's length after.
  if (name.startsWith('encoder_sequence_length_out')) return past > 0 ? ENCODER_SEQUENCE : 0;
  if (name.startsWith('encoder_sequence')) return ENCODER_SEQUENCE;
  if (name.includes('sequence')) return SEQUENCE;
  throw new Error(`no sample size for the input dimension "${name}"`);
};

/** A deterministic stream in [-1, 1): the same sample on every build, so a result can be reproduced. */
const uniform = (seed: number) => {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 31 - 1;
  };
};

const tensorFor = (input: InferenceSession.TensorValueMetadata, past: number, next: () => number): TensorData => {
  const dims = input.shape.map((d) => (typeof d === 'number' ? d : dimension(d, past)));
  const size = dims.reduce((a, b) => a * b, 1);
  const last = dims.at(-1) ?? 1;
  const { name } = input;
  switch (input.type) {
    case 'float32':
      return { type: 'float32', dims, data: Float32Array.from({ length: size }, next) };
    case 'bool':
      // `use_cache_branch` of merged decoders: the cache branch exactly when there is a cache.
      return { type: 'bool', dims, data: Uint8Array.from({ length: size }, () => (past > 0 ? 1 : 0)) };
    case 'int64': {
      const value = (i: number): number => {
        if (name.includes('attention_mask')) return 1;
        if (name.includes('position_ids')) return past + (i % last);
        // Small ids are in every vocabulary; the spread avoids a repeated token.
        if (name.includes('input_ids')) return 4 + ((i * 13) % 50);
        return 0;
      };
      return { type: 'int64', dims, data: BigInt64Array.from({ length: size }, (_, i) => BigInt(value(i))) };
    }
    default:
      throw new Error(`no sample values for input "${name}" of type ${input.type}`);
  }
};

/**
 * Sample feeds for a graph, from its inputs' metadata: one set, or two for a graph with a
 * KV cache (the first step with an empty cache, and a step with `past` tokens cached), so
 * both branches of a merged decoder run. Token ids are small, masks all ones, floats
 * (hidden states, cached keys and values) deterministic in [-1, 1).
 *
 * @example
 * sampleFeeds(session.inputMetadata).length; // => 1 for an encoder, 2 for a decoder with past_key_values
 */
export const sampleFeeds = (inputs: readonly InferenceSession.ValueMetadata[]): Record<string, TensorData>[] => {
  const tensors = inputs.map((input) => {
    if (!input.isTensor) throw new Error(`input "${input.name}" is not a tensor`);
    return input;
  });
  const cached = tensors.some((t) => t.shape.some((d) => typeof d === 'string' && d.includes('past')));
  return (cached ? [0, PAST] : [0]).map((past) => {
    const next = uniform(past + 1);
    return Object.fromEntries(tensors.map((t) => [t.name, tensorFor(t, past, next)]));
  });
};

/**
 * Largest absolute difference between two sets of outputs; Infinity when they differ in
 * names, types or shapes, or when one is NaN where the other is not.
 *
 * @example
 * maxAbsDiff({ logits: a }, { logits: b }); // => 3.1e-7
 */
export const maxAbsDiff = (a: Record<string, TensorData>, b: Record<string, TensorData>): number => {
  const names = Object.keys(a).sort();
  if (names.join('\n') !== Object.keys(b).sort().join('\n')) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (const name of names) {
    const x = a[name]!;
    const y = b[name]!;
    if (x.type !== y.type || x.dims.join(',') !== y.dims.join(',') || x.data.length !== y.data.length) {
      return Number.POSITIVE_INFINITY;
    }
    for (let i = 0; i < x.data.length; i++) {
      const u = Number(x.data[i]);
      const v = Number(y.data[i]);
      if (Number.isNaN(u) || Number.isNaN(v)) {
        if (Number.isNaN(u) !== Number.isNaN(v)) return Number.POSITIVE_INFINITY;
        continue;
      }
      max = Math.max(max, Math.abs(u - v));
    }
  }
  return max;
};
