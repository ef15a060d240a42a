import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LangIdModel } from '#tasks/langid/index.ts';

/**
 * Shared by the language-id tests, bench/detect.ts and scripts/langid-golden.ts: the
 * committed corpus sample, the golden file of fastText's answers for it, the real model,
 * the reference binary. Everything here is inside the repository; a bigger corpus is
 * passed in by path (bench/lib.ts's BENCH_CORPUS, the parity test's LANGID_CORPUS).
 */
export const CORPUS_SAMPLE = fileURLToPath(new URL('../fixtures/corpus/messages-sample.tsv', import.meta.url));
/** fastText's `predict-prob … 1` output for corpusLines() of the sample, as it printed it. */
export const GOLDEN = fileURLToPath(new URL('../fixtures/corpus/lid176-top1.txt', import.meta.url));
export const GOLDEN_COMMAND = 'npx tsx scripts/langid-golden.ts';
export const FTZ = fileURLToPath(
  new URL('../../node_modules/fasttext.wasm.js/dist/fastText/models/lid.176.ftz', import.meta.url),
);
export const BUNDLE = fileURLToPath(new URL('../fixtures/models/lid176/1', import.meta.url));
export const FASTTEXT_BIN = 'fasttext';

/** Whether Debian's `fasttext` binary is on PATH (`apt-get install fasttext`; .ci/run installs it where apt exists). */
export const hasFasttext = (): boolean => spawnSync(FASTTEXT_BIN, ['help'], { stdio: 'ignore' }).error === undefined;

/**
 * Texts of a corpus file (`english` and `translation` columns), every `stride`-th row, so a
 * sample is deterministic. Lines holding a literal `</s>` are left out: fastText ends a line
 * there and would answer twice for one input line, which breaks the line-by-line pairing.
 *
 * @example
 * corpusLines().length; // => 4252 (both columns of the sample's 2,126 rows)
 */
export const corpusLines = (stride = 1, file = CORPUS_SAMPLE): string[] => {
  const rows = readFileSync(file, 'utf8').split('\n').slice(1);
  const out: string[] = [];
  for (let r = 0; r < rows.length; r += stride) {
    const cols = (rows[r] ?? '').split('\t');
    for (const text of [cols[2], cols[3]])
      if (text !== undefined && !text.includes('</s>')) out.push(text.replace(/\r/g, ''));
  }
  return out;
};

export interface Top1 {
  label: string;
  probability: number;
}

/** One line of `fasttext predict-prob … 1` output: `__label__fr 0.99875`. */
const parseTop1 = (line: string): Top1 => {
  const [label = '', p = 'NaN'] = line.split(' ');
  return { label: label.replace('__label__', ''), probability: Number(p) };
};

/** `fasttext predict-prob <model> - 1`, spawned once with all lines on stdin; its stdout as printed. */
export const fasttextOutput = (lines: readonly string[], model = FTZ): string[] => {
  const run = spawnSync(FASTTEXT_BIN, ['predict-prob', model, '-', '1'], {
    input: `${lines.join('\n')}\n`,
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`fasttext predict-prob failed: ${run.stderr}`);
  const out = run.stdout.split('\n').slice(0, lines.length);
  if (out.length !== lines.length) throw new Error(`fasttext answered ${out.length} lines for ${lines.length}`);
  return out;
};

/** fastText's top-1 for each line, run live. */
export const fasttextTop1 = (lines: readonly string[], model = FTZ): Top1[] =>
  fasttextOutput(lines, model).map(parseTop1);

/** The golden file's top-1 for each of corpusLines() (fastText's answers, recorded by GOLDEN_COMMAND). */
export const goldenTop1 = (): Top1[] =>
  readFileSync(GOLDEN, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map(parseTop1);

export interface Agreement {
  lines: number;
  sameTop1: number;
  agreement: number;
  maxProbabilityDiff: number;
  disagreements: Array<{ text: string; onnx: Top1; fasttext: Top1 }>;
}

/** ONNX top-1 against fastText's, in batches (the detector's own batch path). */
export const compareTop1 = async (
  model: LangIdModel,
  lines: readonly string[],
  reference: readonly Top1[],
  batch = 256,
): Promise<Agreement> => {
  let sameTop1 = 0;
  let maxProbabilityDiff = 0;
  const disagreements: Agreement['disagreements'] = [];
  for (let start = 0; start < lines.length; start += batch) {
    const chunk = lines.slice(start, start + batch);
    const predictions = await model.predict(chunk, 1);
    predictions.forEach(([top], i) => {
      const ref = reference[start + i] as Top1;
      const onnx = top ?? { label: '', probability: 0 };
      if (onnx.label === ref.label) {
        sameTop1++;
        maxProbabilityDiff = Math.max(maxProbabilityDiff, Math.abs(onnx.probability - ref.probability));
      } else if (disagreements.length < 20) {
        disagreements.push({ text: chunk[i] ?? '', onnx, fasttext: ref });
      }
    });
  }
  return { lines: lines.length, sameTop1, agreement: sameTop1 / lines.length, maxProbabilityDiff, disagreements };
};
