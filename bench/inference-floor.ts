/**
 * The inference floor of the load test (bench/load.ts): CPU time per text of the bench
 * model's forward pass alone, in one quiet process, on the texts the load test sends.
 *
 * - `oneThread`: tokenizer + one ONNX Runtime run with one intra-op thread (the session
 *   options of our functions, `sessionOptions(1)`): what each emulated instance does per
 *   request before any API key check, throttle, log or prediction record. No request
 *   path built on per-request inference can use less CPU than this.
 * - `pipelineDefault`: the baseline's call, a transformers.js `pipeline()` with default
 *   options (intra-op threads = cores), one text at a time.
 *
 * Started by bench/load.ts as `node --import tsx bench/inference-floor.ts <models-root> <model> <texts.json>`;
 * prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '#runtime/session-options.ts';
import { ownCpuMs } from './lib.ts';

const [root, name, textsFile] = process.argv.slice(2);
if (!root || !name || !textsFile) throw new Error('usage: inference-floor.ts <models-root> <model> <texts.json>');
const texts = JSON.parse(readFileSync(textsFile, 'utf8')) as string[];
env.allowRemoteModels = false;
env.localModelPath = root.endsWith('/') ? root : `${root}/`;

/** CPU and wall time per text of `run` over every text, after 50 unmeasured calls. */
const perText = async (run: (text: string) => Promise<unknown>) => {
  for (const text of texts.slice(0, 50)) await run(text);
  const cpu = ownCpuMs();
  const wall = performance.now();
  for (const text of texts) await run(text);
  return { cpuMs: (ownCpuMs() - cpu) / texts.length, wallMs: (performance.now() - wall) / texts.length };
};

const tokenizer = await AutoTokenizer.from_pretrained(name);
const session = await ort.InferenceSession.create(
  path.join(root, name, 'onnx/model_quantized.onnx'),
  sessionOptions(1),
);
const oneThread = await perText(async (text) => {
  const { input_ids: ids, attention_mask: mask } = tokenizer(text);
  return session.run({
    input_ids: new ort.Tensor('int64', ids.data, ids.dims),
    attention_mask: new ort.Tensor('int64', mask.data, mask.dims),
  });
});
await session.release();
const classifier = await pipeline('text-classification', name, { dtype: 'q8' });
const pipelineDefault = await perText((text) => classifier(text));
console.log(JSON.stringify({ texts: texts.length, oneThread, pipelineDefault }));
