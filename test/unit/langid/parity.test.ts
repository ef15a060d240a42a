import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LangIdModel, loadLangId } from '#tasks/langid/index.ts';
import { BUNDLE, compareTop1, corpusLines, fasttextTop1, hasFasttext } from './reference.ts';

/**
 * Parity with Debian's `fasttext predict-prob` (issue 3). The sample takes every 150th row of
 * the corpus, both columns (~4,250 lines). `LANGID_PARITY_FULL=1` runs the whole corpus and
 * writes bench/results/detect-parity.json.
 */
const FULL = process.env.LANGID_PARITY_FULL === '1';
const SAMPLE_STRIDE = 150;
const MIN_SAMPLE = 2000;
const MIN_AGREEMENT = 0.999;
const MAX_PROBABILITY_DIFF = 1e-4;
const PARITY_TIMEOUT_MS = FULL ? 600_000 : 60_000;
const RESULTS = new URL('../../../bench/results/detect-parity.json', import.meta.url);

const binary = hasFasttext();
if (!binary)
  console.warn('langid parity: skipped because the `fasttext` binary is not installed (apt-get install -y fasttext)');

describe.skipIf(!binary)('lid.176 ONNX parity with fasttext predict-prob', () => {
  let model: LangIdModel;
  beforeAll(async () => {
    model = await loadLangId(BUNDLE);
  });
  afterAll(async () => {
    await model?.release();
  });

  it(
    FULL ? 'agrees on the full corpus' : 'agrees on a deterministic corpus sample',
    async () => {
      // Prepare
      const lines = corpusLines(FULL ? 1 : SAMPLE_STRIDE);
      const reference = fasttextTop1(lines);
      // Act
      const result = await compareTop1(model, lines, reference);
      // Assess
      console.log(
        `langid parity: ${result.sameTop1}/${result.lines} lines agree, max |dp| ${result.maxProbabilityDiff.toExponential(2)}`,
      );
      if (FULL) {
        const { disagreements, ...figures } = result;
        writeFileSync(
          RESULTS,
          `${JSON.stringify({ ...figures, disagreements, date: new Date().toISOString(), machine: os.cpus()[0]?.model, command: 'LANGID_PARITY_FULL=1 npx vitest run test/unit/langid/parity.test.ts' }, null, 2)}\n`,
        );
      }
      expect(lines.length).toBeGreaterThanOrEqual(MIN_SAMPLE);
      expect(result.agreement, JSON.stringify(result.disagreements.slice(0, 5))).toBeGreaterThanOrEqual(MIN_AGREEMENT);
      expect(result.maxProbabilityDiff).toBeLessThanOrEqual(MAX_PROBABILITY_DIFF);
    },
    PARITY_TIMEOUT_MS,
  );
});
