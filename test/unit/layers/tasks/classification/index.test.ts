import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { configureTransformers } from '#runtime/onnx.ts';
import { type Classifier, loadClassifier } from '#tasks/classification/index.ts';

const FIXTURES = 'test/fixtures/models/tiny-distilbert-sentiment';
const TOLERANCE_DIGITS = 4; // golden.json: fp32 scores to 1e-4

interface Golden {
  cases: Array<{ text: string; label: string; scores: Record<string, number> }>;
}

describe.each(['1', '2'])('classification on tiny-distilbert-sentiment v%s', (version) => {
  let clf: Classifier;
  let golden: Golden;
  beforeAll(async () => {
    configureTransformers('.data/models');
    clf = await loadClassifier(`${FIXTURES}/${version}`);
    golden = JSON.parse(await readFile(`${FIXTURES}/${version}/golden.json`, 'utf8')) as Golden;
  });

  it('matches the PyTorch golden scores', async () => {
    const results = await clf.classify(golden.cases.map((c) => c.text));

    results.forEach((r, i) => {
      const expected = golden.cases[i]!;
      expect(r.label).toBe(expected.label);
      for (const s of r.scores) expect(s.score).toBeCloseTo(expected.scores[s.label]!, TOLERANCE_DIGITS);
    });
  });

  it('returns batch results in input order, equal to single results', async () => {
    const texts = golden.cases.map((c) => c.text).reverse();

    const batch = await clf.classify(texts, { miniBatchSize: 3 });
    const singles = await Promise.all(texts.map(async (t) => (await clf.classify([t]))[0]!));

    batch.forEach((r, i) => {
      expect(r.label).toBe(singles[i]!.label);
      expect(r.score).toBeCloseTo(singles[i]!.score, 5);
    });
  });

  it('is deterministic and returns every label, highest first', async () => {
    const [a] = await clf.classify(['The same text twice']);
    const [b] = await clf.classify(['The same text twice']);

    expect(a).toEqual(b);
    expect(a!.scores.map((s) => s.label).sort()).toEqual(['NEGATIVE', 'POSITIVE']);
    expect(a!.scores[0]!.score).toBeGreaterThanOrEqual(a!.scores[1]!.score);
  });

  it("stops between mini-batches once its signal fires, with the signal's reason", async () => {
    const texts = Array.from({ length: 48 }, (_, i) => `text number ${i} about files`);
    const stop = new AbortController();
    const reason = new Error('out of time');

    // The first mini-batch is under way when the signal fires; the second must not start.
    const run = clf.classify(texts, { miniBatchSize: 16, signal: stop.signal });
    stop.abort(reason);

    await expect(run).rejects.toBe(reason);
    expect(await clf.classify(texts, { miniBatchSize: 16 })).toHaveLength(48);
  });
});
