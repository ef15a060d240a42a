import { mkdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AutoModelForCausalLM, AutoTokenizer } from '@huggingface/transformers';
import { sessionOptions } from '#runtime/onnx.ts';
import { type GenerateOptions, type GenerationResult, type Generator, loadGenerator } from '#tasks/generation/index.ts';
import { requireBenchInputs } from './inputs.ts';
import {
  bundleColdEntry,
  machineInfo,
  median,
  prepareBenchModel,
  ROOT,
  round,
  roundAll,
  runChild,
  WORK,
} from './lib.ts';

requireBenchInputs(['generate']);

const BUNDLE = path.join(WORK, 'distilgpt2-shape');
const RESULTS = path.join(ROOT, 'bench/results/generate.json');
const NEW_TOKENS = 64;
const TARGET_TOKENS_PER_SECOND = 40;

// 21 words, as in shared/models/bench/README.md's reference runs.
const PROMPT =
  'The quick brown fox jumps over the lazy dog while the farmer watches from the porch and drinks his morning coffee.';

/**
 * The cold-start child: a bundled script (as the Lambda image ships code, no TypeScript
 * loader) that imports, loads, and generates one token. Times are ms since the process
 * started (`performance.now()` counts from the process's time origin).
 */
const COLD_ENTRY = `
import { loadGenerator } from '#tasks/generation/index.ts';
const t0 = performance.now();
const generator = await loadGenerator(process.argv[2], { dtype: 'q8' });
const t1 = performance.now();
let first;
await generator.generate(process.argv[3], { maxTokens: 1, temperature: 0, ignoreEos: true }, () => { first ??= performance.now(); });
console.log(JSON.stringify({ startToImportedMs: t0, loadMs: t1 - t0, firstTokenMs: first - t1, startToFirstTokenMs: first }));
`;

const coldStart = async (runs: number) => {
  const bundle = await bundleColdEntry('generate', COLD_ENTRY);
  const samples: Array<Record<string, number>> = [];
  for (let i = 0; i < runs; i++) {
    const { wallMs, line } = await runChild(process.execPath, [bundle, BUNDLE, PROMPT]);
    samples.push(roundAll({ wallToExitMs: wallMs, ...line }) as Record<string, number>);
  }
  return {
    what: 'new node process (esbuild-bundled code, as in the image) -> import -> loadGenerator (q8) -> first token of the prompt (32 tokens)',
    runs: samples,
    medianStartToFirstTokenMs: round(median(samples.map((s) => s.startToFirstTokenMs ?? 0))),
  };
};

const timeRuns = async (generator: Generator, runs: number, options: GenerateOptions) => {
  const results: GenerationResult[] = [];
  await generator.generate(PROMPT, options); // warm-up: first-call allocations of this shape
  for (let i = 0; i < runs; i++) results.push(await generator.generate(PROMPT, options));
  const totals = results.map((r) => r.durationMs);
  const ttfts = results.map((r) => r.timeToFirstTokenMs ?? 0);
  const tokens = results[0]?.completionTokens ?? 0;
  const decodeRates = results.map(
    (r) => ((r.completionTokens - 1) * 1000) / (r.durationMs - (r.timeToFirstTokenMs ?? 0)),
  );
  return {
    newTokens: tokens,
    medianMs: round(median(totals)),
    tokensPerSecond: round((tokens * 1000) / median(totals)),
    // One token has no decode phase: no decode rate then.
    decodeOnlyTokensPerSecond: tokens > 1 ? round(median(decodeRates)) : null,
    medianTimeToFirstTokenMs: round(median(ttfts)),
    runsMs: totals.map((t) => round(t)),
  };
};

/** transformers.js `model.generate()` on the same prompt, greedy, 64 tokens: the library's own loop, for comparison. */
const libraryReference = async (runs: number) => {
  const [tokenizer, model] = await Promise.all([
    AutoTokenizer.from_pretrained(BUNDLE, { local_files_only: true }),
    AutoModelForCausalLM.from_pretrained(BUNDLE, {
      dtype: 'q8',
      local_files_only: true,
      session_options: sessionOptions(),
    }),
  ]);
  const inputs = tokenizer(PROMPT);
  // generate() takes tokenizer output spread in; its parameter type does not list them.
  const run = () =>
    model.generate({ ...inputs, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS } as Record<string, unknown>);
  await run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  await model.dispose();
  return {
    what: `transformers.js model.generate(), greedy, max_new_tokens = min_new_tokens = ${NEW_TOKENS}`,
    medianMs: round(median(times)),
    tokensPerSecond: round((NEW_TOKENS * 1000) / median(times)),
  };
};

const main = async () => {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '5' }, 'cold-runs': { type: 'string', default: '3' } },
  });
  const runs = Number(values.runs);
  // The machine is shared: the load before and after tells whether the figures are contended.
  const loadAverageAtStart = os.loadavg().map((l) => round(l, 2));
  await prepareBenchModel('distilgpt2-shape');
  const bytes = (await stat(path.join(BUNDLE, 'onnx/model_quantized.onnx'))).size;
  const progress = (name: string, value: unknown) => console.error(name, JSON.stringify(value));

  const cold = await coldStart(Number(values['cold-runs']));
  progress('cold start', cold);

  const loadStart = performance.now();
  const generator = await loadGenerator(BUNDLE, { dtype: 'q8' });
  const inProcessLoadMs = performance.now() - loadStart;
  const promptTokens = generator.countTokens(PROMPT);

  const ttft = await timeRuns(generator, runs * 2, { maxTokens: 1, temperature: 0, ignoreEos: true });
  progress('warm time to first token', ttft);
  const greedy = await timeRuns(generator, runs, { maxTokens: NEW_TOKENS, temperature: 0, ignoreEos: true });
  progress('greedy 64', greedy);
  const sampledOptions = { maxTokens: NEW_TOKENS, temperature: 0.8, topP: 0.95, topK: 50, seed: 7, ignoreEos: true };
  const sampled = await timeRuns(generator, runs, sampledOptions);
  progress('sampled 64', sampled);
  const penalised = await timeRuns(generator, runs, {
    ...sampledOptions,
    topK: 0,
    presencePenalty: 0.5,
    frequencyPenalty: 0.5,
  });
  progress('sampled 64, top-p only, penalties', penalised);
  const threeChoices = await timeRuns(generator, Math.max(2, Math.floor(runs / 2)), { ...sampledOptions, n: 3 });
  progress('n=3 sampled 64', threeChoices);
  await generator.dispose();
  const reference = await libraryReference(runs);
  progress('library reference', reference);

  const result = {
    command: 'npx tsx bench/generate.ts',
    date: new Date().toISOString(),
    machine: machineInfo(loadAverageAtStart),
    model: {
      bundle: path.relative(ROOT, BUNDLE),
      source: 'shared/models/bench/distilgpt2-shape (synthetic weights, int8)',
      dtype: 'q8',
      onnxBytes: bytes,
      threads: sessionOptions().intraOpNumThreads,
    },
    prompt: { text: PROMPT, words: PROMPT.split(/\s+/).length, promptTokens },
    targetTokensPerSecond: TARGET_TOKENS_PER_SECOND,
    inProcessLoadMs: round(inProcessLoadMs),
    coldStart: cold,
    warmTimeToFirstToken: {
      what: 'generate(prompt, { maxTokens: 1 }) after warm-up: the prompt pass + one token',
      ...ttft,
    },
    warmGreedy64: { what: `greedy, ${NEW_TOKENS} new tokens (ignoreEos)`, ...greedy },
    warmSampled64: { what: 'temperature 0.8, top_k 50, top_p 0.95, seed 7, 64 new tokens', ...sampled },
    warmSampledTopPPenalties64: {
      what: 'temperature 0.8, top_p 0.95 (no top_k: the nucleus is sorted from the full vocabulary), presence and frequency penalty 0.5',
      ...penalised,
    },
    warmThreeChoices64: {
      what: 'n = 3, sampled as warmSampled64: one prompt pass, a batch of 3 rows',
      ...threeChoices,
    },
    libraryGenerateReference: reference,
    meetsTarget:
      greedy.tokensPerSecond >= TARGET_TOKENS_PER_SECOND && sampled.tokensPerSecond >= TARGET_TOKENS_PER_SECOND,
  };
  await mkdir(path.dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
};

await main();
