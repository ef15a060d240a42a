import type { ModelRuntime } from '#runtime/models.ts';
import { type Classification, type Classifier, loadClassifier } from './index.ts';

export interface PredictOutcome {
  model: { name: string; version: string; alias?: string; canary: boolean };
  results: Classification[];
  inferenceMs: number;
}

/**
 * The work of `/v1/predict` and `/v1/predict/batch`: resolve the model reference, load
 * (or reuse) the classifier, classify every text. Plain code: callable from a test, a
 * benchmark or the CLI.
 *
 * @example
 * const out = await predict(runtime, 'tiny-distilbert-sentiment@1', ['great', 'awful']);
 * out.results.length; // => 2, in input order
 */
export const predict = async (runtime: ModelRuntime, modelRef: string, texts: string[]): Promise<PredictOutcome> => {
  const loaded = await runtime.load<Classifier>(modelRef, 'text-classification', (bundle) =>
    loadClassifier(bundle.dir, { dtype: bundle.manifest.dtype }),
  );
  const started = performance.now();
  const results = await loaded.value.classify(texts);
  return {
    model: { name: loaded.name, version: loaded.version, alias: loaded.alias, canary: loaded.canary },
    results,
    inferenceMs: performance.now() - started,
  };
};
