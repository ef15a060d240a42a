import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '#runtime/session-options.ts';
import { Featurizer, type FeaturizerSpec } from './featurizer.ts';

/** Bundle layout written by `convert-fasttext` (model-packaging/fasttext/convert.ts). */
const MODEL_FILE = 'onnx/model.onnx';
const FEATURIZER_FILE = 'featurizer.json';

export interface LangIdPrediction {
  /** lid.176 label without `__label__` (`en`, `als`); map it with `fromFasttextLabel`. */
  label: string;
  probability: number;
}

/** Unicode letters of any script; a text without one has no language to detect. */
const LETTER = /\p{L}/u;

/**
 * Whether a text has anything to detect a language from: false when it is empty after
 * trimming or holds only digits, punctuation, symbols or emoji. The caller answers `und`
 * with confidence 0 for those instead of asking the model to guess.
 *
 * @example
 * hasLetters('  12:30 🎉 '); // => false
 * hasLetters('ça va'); // => true
 */
export function hasLetters(text: string): boolean {
  return LETTER.test(text);
}

/**
 * fastText lid.176 (or any converted hierarchical-softmax fastText model) on ONNX Runtime.
 *
 * @example
 * const model = await loadLangId('/mnt/models/lid176/1');
 * await model.predict(['Bonjour tout le monde'], 2);
 * // => [[{ label: 'fr', probability: 0.99 }, { label: 'en', probability: 0.002 }]]
 */
export class LangIdModel {
  /** Labels in model order (without `__label__`). */
  readonly labels: readonly string[];

  constructor(
    private readonly session: ort.InferenceSession,
    readonly featurizer: Featurizer,
  ) {
    this.labels = featurizer.spec.labels;
  }

  /** Probabilities of all labels for each text ([texts.length][labels.length]). */
  async probabilities(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const features = texts.map((t) => this.featurizer.featurize(t));
    const width = Math.max(1, ...features.map((f) => f.length));
    const ids = new BigInt64Array(texts.length * width);
    const mask = new Float32Array(texts.length * width);
    features.forEach((rows, b) => {
      for (let i = 0; i < rows.length; i++) {
        ids[b * width + i] = BigInt(rows[i] ?? 0);
        mask[b * width + i] = 1;
      }
    });
    const out = await this.session.run({
      ids: new ort.Tensor('int64', ids, [texts.length, width]),
      mask: new ort.Tensor('float32', mask, [texts.length, width]),
    });
    const probs = out.probabilities?.data as Float32Array;
    const n = this.labels.length;
    return texts.map((_, b) => probs.subarray(b * n, (b + 1) * n));
  }

  /**
   * Top-k labels with probabilities per text, most probable first, as `fasttext predict-prob`
   * ranks them. Newlines inside a text are treated as spaces (one text, one answer).
   */
  async predict(texts: readonly string[], topK: number): Promise<LangIdPrediction[][]> {
    const k = Math.max(1, Math.min(Math.floor(topK), this.labels.length));
    return (await this.probabilities(texts)).map((p) =>
      topOf(p, k).map((i) => ({ label: this.labels[i] ?? '', probability: p[i] ?? 0 })),
    );
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Indices of the k largest values, descending; ties keep label order. */
const topOf = (p: Float32Array, k: number): number[] => {
  const top: number[] = [];
  for (let i = 0; i < p.length; i++) {
    const v = p[i] ?? 0;
    if (top.length === k && v <= (p[top[k - 1] ?? 0] ?? 0)) continue;
    let at = top.length === k ? k - 1 : top.length;
    while (at > 0 && v > (p[top[at - 1] ?? 0] ?? 0)) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
};

/**
 * Loads a language-identification bundle (from `convert-fasttext`) from an absolute folder.
 *
 * @example
 * const model = await loadLangId(path.resolve('test/fixtures/models/lid176/1'), { threads: 1 });
 */
export async function loadLangId(bundleDir: string, opts: { threads?: number } = {}): Promise<LangIdModel> {
  const [spec, session] = await Promise.all([
    readFile(path.join(bundleDir, FEATURIZER_FILE), 'utf8').then((text) => JSON.parse(text) as FeaturizerSpec),
    ort.InferenceSession.create(path.join(bundleDir, MODEL_FILE), sessionOptions(opts.threads)),
  ]);
  if (spec.format !== 'fasttext-featurizer' || spec.formatVersion !== 1) {
    throw new Error(
      `${bundleDir}/${FEATURIZER_FILE}: not a fastText featurizer spec (format ${spec.format} v${spec.formatVersion})`,
    );
  }
  return new LangIdModel(session, new Featurizer(spec));
}
