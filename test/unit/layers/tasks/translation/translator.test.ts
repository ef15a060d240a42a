import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AutoModelForSeq2SeqLM, type PreTrainedModel, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '#runtime/errors.ts';
import { loadTranslator, type Translator } from '#tasks/translation/index.ts';

const BUNDLE = path.resolve(import.meta.dirname, '../../../../fixtures/models/tiny-nllb/1');
const LOAD_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 30_000;

interface GoldenCase {
  src_lang: string;
  tgt_lang: string;
  text: string;
  input_ids: number[];
  output_ids: number[];
  translation_text: string;
}
const golden = JSON.parse(readFileSync(path.join(BUNDLE, 'golden.json'), 'utf8')) as {
  max_new_tokens: number;
  cases: GoldenCase[];
};
// English UI messages from shared/data/messages-parallel.tsv (gettext catalogs).
const sentences = JSON.parse(
  readFileSync(path.join(import.meta.dirname, '../../../../fixtures/english-sentences.json'), 'utf8'),
) as string[];

const EOS = 2;
const DECODER_START = 2;
const FRA = 2057;

let translator: Translator;
beforeAll(async () => {
  translator = await loadTranslator(BUNDLE, { dtype: 'fp32' });
}, LOAD_TIMEOUT_MS);
afterAll(async () => {
  await translator?.dispose();
});

describe('golden parity with PyTorch (tiny-nllb, fp32, greedy)', () => {
  it.each(golden.cases.map((c) => [`${c.src_lang} -> ${c.tgt_lang}: ${c.text}`, c] as const))(
    '%s',
    async (_name, c) => {
      // Prepare
      const options = { source: c.src_lang, target: c.tgt_lang, maxNewTokens: golden.max_new_tokens };

      // Act
      const inputIds = translator.encode(c.text, c.src_lang);
      const [result] = await translator.translate([c.text], options);

      // Assess
      expect(inputIds).toEqual(c.input_ids);
      expect(result?.tokenIds).toEqual(c.output_ids);
      expect(result?.text).toBe(c.translation_text);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('batching', () => {
  const texts = Array.from({ length: 16 }, (_, i) =>
    // Lengths from one to four sentences, so the batch needs padding and sorting.
    sentences.slice(i * 4, i * 4 + 1 + (i % 4)).join(' '),
  );

  it(
    'returns 16 translations in input order, equal to translating each alone',
    async () => {
      // Prepare
      const options = { source: 'eng_Latn', target: 'fra_Latn' };
      const singles = [];
      for (const text of texts) singles.push(...(await translator.translate([text], options)));

      // Act
      const batch = await translator.translate(texts, options);

      // Assess
      expect(batch).toHaveLength(16);
      expect(batch).toEqual(singles);
      expect(new Set(texts.map((t) => translator.countTokens(t))).size).toBeGreaterThan(4);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'gives the same output with mini-batches of 5 (a partial last batch)',
    async () => {
      // Prepare
      const small = await loadTranslator(BUNDLE, { dtype: 'fp32', batchSize: 5 });
      const options = { source: 'eng_Latn', target: 'swh_Latn' };
      try {
        // Act
        const [whole, mini] = [await translator.translate(texts, options), await small.translate(texts, options)];

        // Assess
        expect(mini).toEqual(whole);
      } finally {
        await small.dispose();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it('takes one source language per text and batches them together', async () => {
    // Prepare
    const texts = ['The file could not be opened.', "Impossible d'ouvrir le fichier."];
    const english = await translator.translate([texts[0] as string], { source: 'eng_Latn', target: 'deu_Latn' });
    const french = await translator.translate([texts[1] as string], { source: 'fra_Latn', target: 'deu_Latn' });

    // Act
    const mixed = await translator.translate(texts, { source: ['en', 'fra_Latn'], target: 'deu_Latn' });

    // Assess
    expect(mixed).toEqual([...english, ...french]);
    expect(translator.encode(texts[1] as string, 'fra_Latn')[0]).toBe(2057);
  });

  it('skips empty texts and keeps their place', async () => {
    // Act
    const [a, empty, b] = await translator.translate(['Hello, world!', '  ', 'Hello, world!'], {
      source: 'eng_Latn',
      target: 'fra_Latn',
    });

    // Assess
    expect(empty).toEqual({ text: '', tokenIds: [] });
    expect(a).toEqual(b);
    expect(a?.tokenIds.slice(0, 2)).toEqual([DECODER_START, FRA]);
  });
});

describe('length bound', () => {
  it('states the rule min(cap, requested, 2 * input tokens + 10)', () => {
    // Assess
    expect(translator.maxNewTokensCap).toBe(199);
    expect(translator.maxNewTokensFor(11)).toBe(32);
    expect(translator.maxNewTokensFor(11, 5)).toBe(5);
    expect(translator.maxNewTokensFor(500)).toBe(199);
    expect(translator.maxSourceTokens).toBe(94);
  });

  it('stops a sentence that never ends at 2 * input tokens + 10 new tokens', async () => {
    // Prepare: the random model repeats one token for this input and never emits </s>.
    const text = 'Hello, world!';
    const inputTokens = translator.countTokens(text);

    // Act
    const [result] = await translator.translate([text], { source: 'eng_Latn', target: 'fra_Latn' });

    // Assess
    expect(result?.tokenIds.includes(EOS, 1)).toBe(false);
    expect(result?.tokenIds).toHaveLength(1 + 2 * inputTokens + 10);
  });
});

describe('beam search', () => {
  const goldenFra = golden.cases.filter((c) => c.tgt_lang === 'fra_Latn');
  const options = { source: 'eng_Latn', target: 'fra_Latn', maxNewTokens: golden.max_new_tokens };

  /** Sum of log-probabilities of the tokens after the forced language token (teacher forcing, no cache). */
  const sequenceLogProb = async (model: PreTrainedModel, inputIds: number[], sequence: number[]): Promise<number> => {
    const ids = new Tensor('int64', BigInt64Array.from(inputIds, BigInt), [1, inputIds.length]);
    const mask = new Tensor('int64', new BigInt64Array(inputIds.length).fill(1n), [1, inputIds.length]);
    const decoderIds = new Tensor('int64', BigInt64Array.from(sequence.slice(0, -1), BigInt), [1, sequence.length - 1]);
    const { logits } = (await model.forward({
      input_ids: ids,
      attention_mask: mask,
      decoder_input_ids: decoderIds,
    })) as {
      logits: Tensor;
    };
    const vocab = logits.dims[2] ?? 0;
    const data = logits.data as Float32Array;
    let total = 0;
    for (let t = 1; t < sequence.length - 1; t++) {
      const row = data.subarray(t * vocab, (t + 1) * vocab);
      const max = row.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY);
      const logZ = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      total += (row[sequence[t + 1] as number] as number) - logZ;
    }
    return total;
  };

  it('with numBeams=1 equals greedy', async () => {
    // Act
    const texts = goldenFra.map((c) => c.text);
    const [greedy, one] = [
      await translator.translate(texts, options),
      await translator.translate(texts, { ...options, numBeams: 1 }),
    ];

    // Assess
    expect(one).toEqual(greedy);
    expect(one.map((r) => r.tokenIds)).toEqual(goldenFra.map((c) => c.output_ids));
  });

  it(
    'with numBeams=3 is deterministic, well-formed, batch-equal, and finds sequences at least as likely as greedy',
    async () => {
      // Prepare
      const texts = goldenFra.map((c) => c.text);
      const model = await AutoModelForSeq2SeqLM.from_pretrained(BUNDLE, { dtype: 'fp32', local_files_only: true });

      // Act
      const first = await translator.translate(texts, { ...options, numBeams: 3 });
      const second = await translator.translate(texts, { ...options, numBeams: 3 });
      const singles = [];
      for (const text of texts) singles.push(...(await translator.translate([text], { ...options, numBeams: 3 })));
      const scores = [];
      for (const [i, c] of goldenFra.entries()) {
        scores.push({
          beam: await sequenceLogProb(model, c.input_ids, first[i]?.tokenIds ?? []),
          greedy: await sequenceLogProb(model, c.input_ids, c.output_ids),
        });
      }
      await model.dispose();

      // Assess
      expect(second).toEqual(first);
      expect(singles).toEqual(first);
      for (const r of first) {
        expect(r.tokenIds.slice(0, 2)).toEqual([DECODER_START, FRA]);
        expect(r.tokenIds.length).toBeLessThanOrEqual(1 + golden.max_new_tokens);
        expect(r.tokenIds.every((id) => Number.isInteger(id) && id >= 0 && id < 2203)).toBe(true);
        expect(r.tokenIds.slice(1, -1)).not.toContain(EOS);
      }
      // All reach the length bound (no </s>), so length normalisation is equal and sums compare directly.
      for (const s of scores) expect(s.beam).toBeGreaterThanOrEqual(s.greedy - 1e-4);
      // transformers.js 4.3.1's own num_beams silently decodes greedily; ours must search.
      expect(scores.some((s) => s.beam > s.greedy + 1)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('alternatives', () => {
  it('are the next distinct hypotheses of a beam search one wider, the translation its best', async () => {
    // Prepare
    const texts = golden.cases.filter((c) => c.tgt_lang === 'fra_Latn').map((c) => c.text);
    const options = { source: 'eng_Latn', target: 'fra_Latn', maxNewTokens: golden.max_new_tokens };

    // Act
    const withAlternatives = await translator.translate(texts, { ...options, alternatives: 2 });
    const beams = await translator.translate(texts, { ...options, numBeams: 3 });

    // Assess
    expect(withAlternatives.map((t) => t.tokenIds)).toEqual(beams.map((t) => t.tokenIds));
    for (const t of withAlternatives) {
      expect(t.alternatives!.length).toBeGreaterThan(0);
      expect(t.alternatives!.length).toBeLessThanOrEqual(2);
      expect(t.alternatives).not.toContain(t.text);
      expect(new Set(t.alternatives).size).toBe(t.alternatives!.length);
    }
    expect(beams[0]).not.toHaveProperty('alternatives');
  });
});

describe('input validation', () => {
  it('rejects an unsupported target with the nearest supported codes', async () => {
    // Act
    const attempt = translator.translate(['Hello'], { source: 'eng_Latn', target: 'fra_Latm' });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(
      /target_language: Unsupported language code "fra_Latm".*"fra_Latn".*GET \/v1\/languages/,
    );
  });

  it('accepts ISO 639-1 and ISO 639-3 codes for the same languages', async () => {
    // Act
    const flores = await translator.translate(['Hello, world!'], { source: 'eng_Latn', target: 'fra_Latn' });
    const iso1 = await translator.translate(['Hello, world!'], { source: 'en', target: 'fr' });
    const iso3 = await translator.translate(['Hello, world!'], { source: 'eng', target: 'fra' });

    // Assess
    expect(iso1).toEqual(flores);
    expect(iso3).toEqual(flores);
  });

  it('rejects a text longer than the encoder window and points to sentence splitting', async () => {
    // Prepare
    const long = sentences.join(' ').repeat(3);

    // Act
    const attempt = translator.translate(['short', long], { source: 'eng_Latn', target: 'fra_Latn' });

    // Assess
    expect(translator.countTokens(long)).toBeGreaterThan(translator.maxInputTokens);
    await expect(attempt).rejects.toThrow(/Text 1 is \d+ tokens long; the model reads at most 1024\. Split it/);
  });

  it('lists the tokenizer language tokens as FLORES codes', () => {
    // Act
    const languages = translator.languages();

    // Assess
    expect(translator.kind).toBe('multilingual');
    expect(languages).toHaveLength(202);
    expect(languages).toEqual(expect.arrayContaining(['eng_Latn', 'fra_Latn', 'swh_Latn', 'zho_Hans', 'zul_Latn']));
  });
});
