import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';

const FIXTURES = 'test/fixtures/models';
/** Decimals to which an answer must equal PyTorch's (fp32 ONNX against fp32 PyTorch). */
export const GOLDEN_DIGITS = 4;

/** One text of a fixture's `golden.json` and PyTorch's answer for it. */
export interface GoldenCase {
  text: string;
  label: string;
  scores: Record<string, number>;
}

/**
 * The golden cases of one version of the sentiment fixture.
 *
 * @example
 * (await goldenOf('1'))[0]; // => { text: '…', label: 'POSITIVE', scores: { NEGATIVE: 0.24…, POSITIVE: 0.75… } }
 */
export const goldenOf = async (version: string): Promise<GoldenCase[]> =>
  (
    JSON.parse(await readFile(path.join(FIXTURES, 'tiny-distilbert-sentiment', version, 'golden.json'), 'utf8')) as {
      cases: GoldenCase[];
    }
  ).cases;

/** Checks a classification answer (`{label, scores:[{label, score}]}`, as the API sends it) against PyTorch's for the same text. */
export const expectGolden = (answer: object, golden: GoldenCase): void => {
  const { label, scores } = answer as { label: string; scores: Array<{ label: string; score: number }> };
  expect(label).toBe(golden.label);
  for (const s of scores) expect(s.score).toBeCloseTo(golden.scores[s.label]!, GOLDEN_DIGITS);
};
