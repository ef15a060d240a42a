import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * What the benchmarks read from outside the repository: the full-size-shaped bench models
 * (synthetic int8 weights, `onnx/*.onnx.gz`) and the corpus their request texts come from.
 * Both sit beside the repository in `../shared` by default; BENCH_MODELS_DIR and
 * BENCH_CORPUS point elsewhere. Checked before a benchmark starts, so a run without them
 * stops with one message instead of a stack trace, and writes no results file.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
export const BENCH_MODELS = path.resolve(ROOT, process.env.BENCH_MODELS_DIR ?? '../shared/models/bench');
export const BENCH_CORPUS = path.resolve(ROOT, process.env.BENCH_CORPUS ?? '../shared/data/messages-parallel.tsv');

/** The bench models each benchmark loads, and whether it reads the corpus. */
export const BENCH_INPUTS: Record<string, { models: string[]; corpus: boolean }> = {
  capabilities: { models: ['distilbert-base-uncased-shape', 'opus-mt-en-de-shape', 'distilgpt2-shape'], corpus: true },
  load: { models: ['distilbert-base-uncased-shape'], corpus: true },
  detect: { models: [], corpus: true },
  translate: { models: ['opus-mt-en-de-shape'], corpus: false },
  generate: { models: ['distilgpt2-shape'], corpus: false },
  // Its cold-start and CPU parts (bench/request-path/) run the capabilities' bench models and the load test.
  'request-path': {
    models: ['distilbert-base-uncased-shape', 'opus-mt-en-de-shape', 'distilgpt2-shape'],
    corpus: true,
  },
};

const hasGraphs = (model: string): boolean => {
  const onnx = path.join(BENCH_MODELS, model, 'onnx');
  return existsSync(onnx) && readdirSync(onnx).some((f) => f.endsWith('.onnx.gz'));
};

/**
 * What the named benchmarks need and cannot find, as one message per missing input
 * (empty when everything is there).
 *
 * @example
 * missingBenchInputs(['detect']); // => [] where the corpus exists
 */
export const missingBenchInputs = (names: readonly string[]): string[] => {
  const models = [...new Set(names.flatMap((n) => BENCH_INPUTS[n]?.models ?? []))].filter((m) => !hasGraphs(m));
  const problems = models.map(
    (m) => `bench model ${m}: no onnx/*.onnx.gz under ${path.join(BENCH_MODELS, m)} (set BENCH_MODELS_DIR)`,
  );
  if (names.some((n) => BENCH_INPUTS[n]?.corpus) && !existsSync(BENCH_CORPUS))
    problems.push(`corpus: ${BENCH_CORPUS} does not exist (set BENCH_CORPUS)`);
  return problems;
};

/** Stops the process with the missing inputs listed, before anything is measured or written. */
export const requireBenchInputs = (names: readonly string[]): void => {
  const problems = missingBenchInputs(names);
  if (problems.length === 0) return;
  console.error(
    `The benchmarks need inputs that are not here; nothing was run and no results file was written:\n  ${problems.join('\n  ')}`,
  );
  process.exit(2);
};
