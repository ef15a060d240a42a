/**
 * Bare inference for bench/request-path.ts's warm/bare ratio (issue 21, part 3): each
 * capability's model work with no server, no middleware, no record and no cache, on the
 * same model bundle, dtype, ONNX Runtime session options and threads as the function
 * (`sessionOptions()` reads the configuration the local stack set), and the same inputs
 * as the API requests the bench sends:
 *
 * - detect: the lid.176 featurizer and session (`loadLangId`), top 1;
 * - predict: tokenizer + one `session.run` of the classifier graph;
 * - translate: tokenizer + transformers.js `generate()` (greedy, forced target language,
 *   `max_new_tokens` as the request asks) + decode;
 * - completions: tokenizer + `generate()` (greedy, `max_new_tokens` = the request's
 *   `max_tokens`) + decode.
 *
 * Every call returns how many tokens it produced (1 for the classifiers), so the report
 * can show both arms did the same work.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AutoModelForCausalLM,
  AutoModelForSeq2SeqLM,
  AutoTokenizer,
  env,
  type PreTrainedTokenizer,
  Tensor,
} from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '#runtime/session-options.ts';
import { loadLangId } from '#tasks/langid/model.ts';

/** What the bench asks of each capability, through the API and bare alike. */
export interface BareInputs {
  detect: (i: number) => { text: string };
  predict: (i: number) => { text: string };
  translate: (i: number) => { text: string; source: string; target: string; maxNewTokens: number };
  completions: (i: number) => { prompt: string; maxTokens: number };
}

export type BareCapability = keyof BareInputs;

const dtypeOf = async (dir: string): Promise<'fp32' | 'q8'> =>
  (JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { dtype: 'fp32' | 'q8' }).dtype;

/** A generate() output's new tokens, for a [1, n] sequence that starts with `skip` tokens it was given. */
const newTokens = (out: unknown, skip: number): number => ((out as Tensor).dims[1] ?? skip) - skip;

/**
 * Loads the four bare runners from bundle folders (`<root>/<name>/<version>`).
 *
 * @example
 * const bare = await loadBare({ detect: 'test/fixtures/models/lid176/1', … }, inputs);
 * await bare.detect(0); // => 1 (one answer)
 */
export const loadBare = async (
  dirs: Record<BareCapability, string>,
  inputs: BareInputs,
): Promise<Record<BareCapability, (i: number) => Promise<number>>> => {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = '/';
  const lid = await loadLangId(dirs.detect);

  const predictDtype = await dtypeOf(dirs.predict);
  const predictTokenizer = await AutoTokenizer.from_pretrained(dirs.predict, { local_files_only: true });
  const classifier = await ort.InferenceSession.create(
    path.join(dirs.predict, predictDtype === 'q8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx'),
    sessionOptions(),
  );

  const seq2seq = async (dir: string, cls: typeof AutoModelForSeq2SeqLM | typeof AutoModelForCausalLM) => {
    const [tokenizer, model] = await Promise.all([
      AutoTokenizer.from_pretrained(dir, { local_files_only: true }),
      cls.from_pretrained(dir, {
        dtype: await dtypeOf(dir),
        device: 'cpu',
        local_files_only: true,
        session_options: sessionOptions(),
      }),
    ]);
    return { tokenizer, model };
  };
  const translator = await seq2seq(dirs.translate, AutoModelForSeq2SeqLM);
  const generator = await seq2seq(dirs.completions, AutoModelForCausalLM);
  const tokenId = (tokenizer: PreTrainedTokenizer, token: string): number => {
    const [id] = tokenizer.convert_tokens_to_ids([token]) as number[];
    if (id === undefined) throw new Error(`bare translate: no token ${token}`);
    return id;
  };

  return {
    detect: async (i) => (await lid.predict([inputs.detect(i).text], 1)).length,
    predict: async (i) => {
      const { input_ids: ids, attention_mask: mask } = predictTokenizer(inputs.predict(i).text);
      await classifier.run({
        input_ids: new ort.Tensor('int64', ids.data, ids.dims),
        attention_mask: new ort.Tensor('int64', mask.data, mask.dims),
      });
      return 1;
    },
    translate: async (i) => {
      const { text, source, target, maxNewTokens } = inputs.translate(i);
      const { tokenizer, model } = translator;
      // NLLB's source layout: <source language> tokens </s>.
      const ids = [tokenId(tokenizer, source), ...tokenizer.encode(text, { add_special_tokens: false })];
      ids.push(tokenizer.eos_token_id ?? tokenId(tokenizer, '</s>'));
      const out = await model.generate({
        input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
        attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
        forced_bos_token_id: tokenId(tokenizer, target),
        max_new_tokens: maxNewTokens,
        do_sample: false,
        num_beams: 1,
      });
      tokenizer.batch_decode(out as Tensor, { skip_special_tokens: true });
      // The decoder start token is not generated.
      return newTokens(out, 1);
    },
    completions: async (i) => {
      const { prompt, maxTokens } = inputs.completions(i);
      const { tokenizer, model } = generator;
      const { input_ids, attention_mask } = tokenizer(prompt);
      const out = await model.generate({ input_ids, attention_mask, max_new_tokens: maxTokens, do_sample: false });
      tokenizer.batch_decode(out as Tensor, { skip_special_tokens: true });
      return newTokens(out, (input_ids as Tensor).dims[1] ?? 0);
    },
  };
};
