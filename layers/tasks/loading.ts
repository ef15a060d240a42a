import { AutoTokenizer, type PreTrainedModel, type PreTrainedTokenizer } from '@huggingface/transformers';
import { configureTransformers, type ModelSource, modelSource } from '#runtime/onnx.ts';

/**
 * How every transformers.js task (classification, translation, generation) opens a
 * bundle, so the loaders cannot drift apart: transformers.js configured to forbid any
 * download, `local_files_only` on the tokenizer and the model, the CPU device, the
 * bundle's dtype (or the caller's) and the ONNX Runtime session options `modelSource`
 * picks (its pre-optimised graph when the model store found one for this machine).
 */

/** What a caller may choose when loading a bundle; everything else is fixed here. */
export interface LoadBundleOptions {
  /** `fp32` loads `onnx/*.onnx`, `q8` loads `onnx/*_quantized.onnx`. Default: the manifest's, or `fp32` for a folder. */
  dtype?: 'fp32' | 'q8';
  /** ONNX Runtime intra-op threads; default all cores (see `sessionOptions`). */
  threads?: number;
}

/** The `from_pretrained` of a transformers.js model class (`AutoModelForCausalLM` and its kin). */
export interface PretrainedModelClass {
  from_pretrained: (typeof PreTrainedModel)['from_pretrained'];
}

export interface LoadedBundle {
  /** The folder the files were read from (the optimised copy when one was used): for messages. */
  dir: string;
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
}

/**
 * Loads the tokenizer and the ONNX model of a bundle in parallel, with the options every
 * task shares. Nothing is downloaded: a file missing from the bundle is an error.
 *
 * @example
 * const { tokenizer, model } = await loadBundle('/mnt/models/tiny-gpt2/1', AutoModelForCausalLM, { dtype: 'q8' });
 * model.config.model_type; // => 'gpt2'
 */
export const loadBundle = async (
  source: ModelSource,
  modelClass: PretrainedModelClass,
  options: LoadBundleOptions = {},
): Promise<LoadedBundle> => {
  configureTransformers();
  const { dir, dtype, session_options } = modelSource(source, options);
  const [tokenizer, model] = await Promise.all([
    AutoTokenizer.from_pretrained(dir, { local_files_only: true }),
    modelClass.from_pretrained(dir, { dtype, device: 'cpu', local_files_only: true, session_options }),
  ]);
  return { dir, tokenizer, model };
};
