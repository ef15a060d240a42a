/**
 * Translation benchmark on the opus-mt-en-de-shaped model (Marian, 74M parameters,
 * int8, synthetic weights): cold start, one 20-word sentence warm, a batch of 16.
 *
 *   npx tsx bench/translate.ts            # full run, writes bench/results/translate.json
 *   npx tsx bench/translate.ts --runs 5   # more warm repetitions
 *
 * The weights are random, so the model never emits `</s>`: every sentence decodes until
 * the length bound. A real opus-mt-en-de translation ends with `</s>` after about as
 * many tokens as the English source has (German runs 1.0-1.2x in its shared vocabulary),
 * so the target (one sentence under 250 ms warm) is measured with `maxNewTokens` =
 * 1.2 x source tokens ("realistic length"), and the worst case under the default bound
 * (2 x source tokens + 10, a degenerate output that never ends) is reported beside it.
 */

import { execFileSync } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AutoModelForSeq2SeqLM, AutoTokenizer } from '@huggingface/transformers';
import { sessionOptions } from '#runtime/onnx.ts';
import { loadTranslator, type Translator } from '#tasks/translation/index.ts';
import { requireBenchInputs } from './inputs.ts';
import { bundleColdEntry, machineInfo, median, prepareBenchModel, ROOT, round, runChild, WORK } from './lib.ts';

requireBenchInputs(['translate']);

const BUNDLE = path.join(WORK, 'opus-mt-en-de-shape');
const RESULTS = path.join(ROOT, 'bench/results/translate.json');
const TARGET_MS = 250;
/** New tokens of a real German translation per English source token (upper end). */
const REALISTIC_RATIO = 1.2;
/** bench/README.md: the reference workload took 130-170 ms warm on this machine when it was quiet. */
const QUIET_REFERENCE_MS = 150;

// 20 words, like a sentence from a user interface or a support message.
const SENTENCE =
  'The printer could not be found, so please check that it is switched on and connected to this computer now.';
const BATCH = [
  SENTENCE,
  'Your password must contain at least eight characters, including one number and one letter that is written in capitals.',
  'The download was interrupted because the network connection was lost, and it will start again when you are back online.',
  'Please save your work before closing the window, otherwise every change you made since the last save will be lost.',
  'This folder is shared with three other people, who can read and change every file that you put into it.',
  'The meeting has been moved to Thursday afternoon because the room we booked for Wednesday is no longer available.',
  'If the screen stays dark after you press the power button, hold it down for ten seconds and try again.',
  'We could not verify your email address, so please open the link we sent you and confirm it within two days.',
  'The update will install automatically tonight, and your computer may restart once or twice while the update is running.',
  'Some of the pictures in this album are too large to send by email, so they will be shared as links.',
  'The battery is almost empty, and the device will turn itself off in a few minutes unless you plug it in.',
  'Your order has been shipped and should arrive within three working days at the address you gave us last week.',
  'The application needs permission to use the camera before it can scan the code printed on your ticket or receipt.',
  'Two files with the same name already exist in this folder, so choose whether to replace them or keep both.',
  'The connection to the server timed out, which usually means that the server is busy or your network is slow.',
  'You have been signed out because your account was used on another device, so please sign in again to continue.',
];

/**
 * The cold-start child: a bundled script (as the Lambda image ships code, no TypeScript
 * loader) that imports, loads and translates once, and reports its phases.
 */
const COLD_ENTRY = `
import { loadTranslator } from '#tasks/translation/index.ts';
const t0 = performance.now();
const translator = await loadTranslator(process.argv[2], { dtype: 'q8' });
const t1 = performance.now();
await translator.translate([process.argv[3]], { source: 'eng_Latn', target: 'deu_Latn', maxNewTokens: Number(process.argv[4]) });
const t2 = performance.now();
console.log(JSON.stringify({ startToImportedMs: t0, loadMs: t1 - t0, firstTranslationMs: t2 - t1, startToFirstMs: t2 }));
`;

const coldStart = async (runs: number, maxNewTokens: number) => {
  if (runs === 0) return undefined;
  const bundle = await bundleColdEntry('translate', COLD_ENTRY);
  const samples: Array<Record<string, unknown> & { wallMs: number }> = [];
  for (let i = 0; i < runs; i++) {
    const { wallMs, line } = await runChild(process.execPath, [bundle, BUNDLE, SENTENCE, String(maxNewTokens)]);
    samples.push({ ...line, wallMs: round(wallMs) });
  }
  return {
    what: 'new node process (bundled code) -> translator loaded -> first sentence translated; realistic length',
    runs: samples.map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(Number(v))]))),
    /** Process start to first translation done, as the child measured it (its clock starts with the process). */
    medianStartToFirstMs: round(median(samples.map((s) => Number(s.startToFirstMs)))),
    /** Spawn to exit, as the parent saw it: adds process creation and teardown. */
    medianWallMs: round(median(samples.map((s) => s.wallMs))),
  };
};

const timeIt = async (runs: number, fn: () => Promise<unknown>): Promise<number[]> => {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times;
};

const warmSingle = async (translator: Translator, runs: number, maxNewTokens?: number) => {
  const options = { source: 'eng_Latn', target: 'deu_Latn', maxNewTokens };
  await timeIt(2, () => translator.translate([SENTENCE], options));
  const [result] = await translator.translate([SENTENCE], options);
  const times = await timeIt(runs, () => translator.translate([SENTENCE], options));
  return {
    sourceTokens: translator.countTokens(SENTENCE),
    newTokens: (result?.tokenIds.length ?? 1) - 1,
    medianMs: round(median(times)),
    minMs: round(Math.min(...times)),
    runsMs: times.map((t) => round(t)),
  };
};

const batch16 = async (translator: Translator, runs: number, maxNewTokens?: number) => {
  const options = { source: 'eng_Latn', target: 'deu_Latn', maxNewTokens };
  await translator.translate(BATCH, options);
  const results = await translator.translate(BATCH, options);
  const times = await timeIt(runs, () => translator.translate(BATCH, options));
  const singles = [];
  for (const text of BATCH.slice(0, 4)) singles.push(...(await translator.translate([text], options)));
  const m = median(times);
  return {
    texts: BATCH.length,
    sourceTokens: BATCH.map((t) => translator.countTokens(t)),
    newTokens: results.reduce((n, r) => n + r.tokenIds.length - 1, 0),
    medianMs: round(m),
    sentencesPerSecond: round((BATCH.length * 1000) / m, 2),
    runsMs: times.map((t) => round(t)),
    firstFourEqualSingles: JSON.stringify(results.slice(0, 4)) === JSON.stringify(singles),
  };
};

/** The README's reference workload (library `generate`, 32 new tokens), to calibrate this machine's current load. */
const libraryReference = async (runs: number) => {
  const [tokenizer, model] = await Promise.all([
    AutoTokenizer.from_pretrained(BUNDLE, { local_files_only: true }),
    AutoModelForSeq2SeqLM.from_pretrained(BUNDLE, {
      dtype: 'q8',
      local_files_only: true,
      session_options: sessionOptions(),
    }),
  ]);
  const inputs = tokenizer(SENTENCE);
  // generate() takes tokenizer output spread in; its parameter type does not list them.
  const run = () => model.generate({ ...inputs, max_new_tokens: 32, min_new_tokens: 32 } as Record<string, unknown>);
  await timeIt(2, run);
  const times = await timeIt(runs, run);
  await model.dispose();
  return {
    what: 'transformers.js model.generate(), greedy, max_new_tokens = min_new_tokens = 32 (bench/README.md reference: 130-170 ms warm on a quiet machine)',
    medianMs: round(median(times)),
  };
};

const main = async () => {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '10' }, 'cold-runs': { type: 'string', default: '3' } },
  });
  const runs = Number(values.runs);
  // Other processes share this machine's cores: the load average says how much the figures are worth.
  const loadAverageAtStart = os.loadavg().map((l) => round(l, 2));
  await prepareBenchModel('opus-mt-en-de-shape');
  const bytes = (await stat(path.join(BUNDLE, 'onnx/decoder_model_merged_quantized.onnx'))).size;
  const loadStart = performance.now();
  const translator = await loadTranslator(BUNDLE, { dtype: 'q8' });
  const inProcessLoadMs = performance.now() - loadStart;
  const sourceTokens = translator.countTokens(SENTENCE);
  const realisticNewTokens = Math.round(REALISTIC_RATIO * sourceTokens);

  const progress = (name: string, value: unknown) => console.error(name, JSON.stringify(value));
  const realistic = await warmSingle(translator, runs, realisticNewTokens);
  progress('warm single, realistic length', realistic);
  const bounded = await warmSingle(translator, Math.max(3, Math.floor(runs / 2)));
  progress('warm single, default bound', bounded);
  const batchRealistic = await batch16(
    translator,
    3,
    Math.round(REALISTIC_RATIO * Math.max(...BATCH.map((t) => translator.countTokens(t)))),
  );
  progress('batch of 16, realistic length', batchRealistic);
  const batchBounded = await batch16(translator, 3);
  progress('batch of 16, default bound', batchBounded);
  await translator.dispose();
  const reference = await libraryReference(5);
  progress('library reference', reference);
  const cold = await coldStart(Number(values['cold-runs']), realisticNewTokens);

  const result = {
    command: 'npx tsx bench/translate.ts',
    date: new Date().toISOString(),
    machine: machineInfo(loadAverageAtStart),
    model: {
      bundle: path.relative(ROOT, BUNDLE),
      source: 'shared/models/bench/opus-mt-en-de-shape (synthetic weights, int8)',
      dtype: 'q8',
      decoderBytes: bytes,
      threads: sessionOptions().intraOpNumThreads,
    },
    sentence: { text: SENTENCE, words: SENTENCE.split(/\s+/).length, sourceTokens },
    inProcessLoadMs: round(inProcessLoadMs),
    coldStart: cold,
    warmSingleRealisticLength: {
      what: 'one 20-word sentence, greedy, maxNewTokens = 1.2 x source tokens (the length of a real translation; random weights never emit </s>)',
      ...realistic,
    },
    warmSingleDefaultBound: {
      what: 'same sentence under the default bound min(cap, 2 * source tokens + 10): the worst case, a degenerate output that never ends',
      ...bounded,
    },
    batch16RealisticLength: { what: '16 sentences of ~20 words, one translate() call, greedy', ...batchRealistic },
    batch16DefaultBound: { what: 'same batch under the default bound', ...batchBounded },
    libraryReference: reference,
    target: {
      oneSentenceWarmMs: TARGET_MS,
      met: realistic.medianMs < TARGET_MS,
      // The same ratio to the README's quiet-machine reference (130-170 ms), when this run shared the cores.
      scaledToQuietMachineMs: round((realistic.medianMs * QUIET_REFERENCE_MS) / reference.medianMs),
    },
    profile: [
      'Per decoder step (batch 1, past 20, ONNX Runtime profiler): ~7 ms, of which the LM head (58101 x 512 int8 MatMul) is ~2.2 ms; the rest is 30 small int8 MatMuls. The step is weight-bandwidth bound (86 MB of int8 weights read per token).',
      "The merged decoder's If(use_cache_branch) costs nothing measurable: a standalone with-past graph cut from it ran 7.5 vs 7.0 ms/step (2 threads) and 6.4 vs 6.9 ms/step (1 thread), within noise.",
      'intraOpNumThreads 1 vs 2 (sessionOptions default) is within noise at batch 1; 2 threads help the batch of 16.',
      'JS overhead of the decoding loop over raw session.run is ~0.2 ms/step; the loop is as fast as transformers.js generate() on the same work (247 vs 262 ms for 32 tokens, same process).',
      'What bounds latency is the number of decoder steps: the default rule min(cap, 2n + 10) only matters for degenerate outputs (a real model stops at </s>); cutting it further would truncate real translations.',
    ],
    git: (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
      } catch {
        return undefined;
      }
    })(),
  };
  await mkdir(path.dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
};

await main();
