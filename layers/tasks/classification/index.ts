import { AutoModelForSequenceClassification, type Tensor } from '@huggingface/transformers';
import type { ModelSource } from '#runtime/onnx.ts';
import { type LoadBundleOptions, loadBundle } from '../loading.ts';

export interface LabelScore {
  label: string;
  score: number;
}

export interface Classification {
  /** The top label and its score. */
  label: string;
  score: number;
  /** Every label's score, highest first (ties keep the model's label order). */
  scores: LabelScore[];
}

export interface ClassifyOptions {
  /** Texts per forward pass; padding is per mini-batch, so similar lengths go together. */
  miniBatchSize?: number;
  /** Checked before every mini-batch: aborting rejects with the signal's reason (a deadline, a client gone). */
  signal?: AbortSignal;
}

export interface Classifier {
  readonly labels: string[];
  /** Softmax for single-label models, sigmoid for multi-label ones (config `problem_type`). */
  readonly activation: 'softmax' | 'sigmoid';
  classify(texts: string[], options?: ClassifyOptions): Promise<Classification[]>;
  dispose(): Promise<void>;
}

const DEFAULT_MINI_BATCH = 16;

const softmax = (row: number[]): number[] => {
  const max = Math.max(...row);
  const exps = row.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
};
const sigmoid = (row: number[]): number[] => row.map((v) => 1 / (1 + Math.exp(-v)));

/**
 * Loads a sequence-classification bundle (tokenizer + ONNX graph) from a local folder, or
 * from a cached bundle (its pre-optimised graph when it has one: `modelSource`). Nothing is
 * downloaded (`loadBundle`).
 *
 * @example
 * const clf = await loadClassifier('/mnt/models/tiny-distilbert-sentiment/1');
 * await clf.classify(['I love this product, it works perfectly!']);
 * // => [{ label: 'POSITIVE', score: 0.7579, scores: [{ label: 'POSITIVE', score: 0.7579 }, { label: 'NEGATIVE', score: 0.2421 }] }]
 */
export const loadClassifier = async (source: ModelSource, options: LoadBundleOptions = {}): Promise<Classifier> => {
  const { tokenizer, model } = await loadBundle(source, AutoModelForSequenceClassification, options);
  const config = model.config as unknown as { id2label?: Record<string, string>; problem_type?: string };
  const id2label = config.id2label ?? {};
  const count = Object.keys(id2label).length;
  const labels = Array.from({ length: count }, (_, i) => id2label[String(i)] ?? `LABEL_${i}`);
  const activation = config.problem_type === 'multi_label_classification' ? 'sigmoid' : 'softmax';

  const toResult = (logits: number[]): Classification => {
    const probs = activation === 'softmax' ? softmax(logits) : sigmoid(logits);
    const scores = probs
      .map((score, i) => ({ label: labels[i] ?? `LABEL_${i}`, score, i }))
      .sort((a, b) => b.score - a.score || a.i - b.i)
      .map(({ label, score }) => ({ label, score }));
    return { label: scores[0]!.label, score: scores[0]!.score, scores };
  };

  return {
    labels,
    activation,
    async classify(texts, opts = {}) {
      const size = opts.miniBatchSize ?? DEFAULT_MINI_BATCH;
      // Sort by token count so each mini-batch pads to similar lengths: a batch of one
      // long and fifteen short texts would otherwise run sixteen long sequences. Texts
      // that fit in one mini-batch pad together whatever their order: no extra tokenizing.
      const order = texts.map((_, i) => i);
      if (texts.length > size) {
        const lengths = texts.map((t) => tokenizer.encode(t).length);
        order.sort((a, b) => lengths[a]! - lengths[b]! || a - b);
      }
      const results: Classification[] = new Array(texts.length);
      for (let start = 0; start < order.length; start += size) {
        opts.signal?.throwIfAborted();
        const ids = order.slice(start, start + size);
        const inputs = tokenizer(
          ids.map((i) => texts[i]!),
          { padding: true, truncation: true },
        );
        const { logits } = (await model(inputs)) as { logits: Tensor };
        const rows = logits.tolist() as number[][];
        ids.forEach((textIndex, row) => {
          results[textIndex] = toResult(rows[row]!);
        });
      }
      return results;
    },
    async dispose() {
      await model.dispose();
    },
  };
};
