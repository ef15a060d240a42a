import type { Manifest, Task } from '../manifest.ts';

/**
 * The graph files each task's loader opens, by transformers.js model class: sequence
 * classification and causal LMs `model`, seq2seq `encoder_model` and
 * `decoder_model_merged`; `_quantized` for q8. A table, not transformers.js's
 * `ModelRegistry.get_model_files`, so that the detect function's bundle stays without
 * transformers.js; a unit test holds the table to the library's answer on every fixture.
 * Language identification (plain ONNX Runtime, a tiny graph) has none.
 */
const LOADER_GRAPHS: Partial<Record<Task, readonly string[]>> = {
  'text-classification': ['model'],
  'text-generation': ['model'],
  translation: ['encoder_model', 'decoder_model_merged'],
};
const DTYPE_SUFFIX: Record<Manifest['dtype'], string> = { fp32: '', q8: '_quantized' };

/**
 * The graphs the loader of a bundle opens (empty: nothing to optimise).
 *
 * @example
 * loaderGraphs(manifest); // => ['onnx/encoder_model_quantized.onnx', 'onnx/decoder_model_merged_quantized.onnx'] (translation, q8)
 */
export const loaderGraphs = (manifest: Pick<Manifest, 'task' | 'dtype'>): string[] =>
  (LOADER_GRAPHS[manifest.task] ?? []).map((name) => `onnx/${name}${DTYPE_SUFFIX[manifest.dtype]}.onnx`);
