import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Featurizer,
  type FeaturizerSpec,
  fasttextHash,
  hasLetters,
  type LangIdModel,
  loadLangId,
} from '#tasks/langid/index.ts';
import { BUNDLE } from '../../../../helpers/langid-reference.ts';

const LOAD_TIMEOUT_MS = 10_000;

/** A tiny unpruned spec so n-gram ids can be checked by hand. */
const tinySpec = (over: Partial<FeaturizerSpec> = {}): FeaturizerSpec => ({
  format: 'fasttext-featurizer',
  formatVersion: 1,
  nwords: 2,
  bucket: 1000,
  minn: 2,
  maxn: 3,
  wordNgrams: 1,
  eos: '</s>',
  labelPrefix: '__label__',
  words: ['</s>', 'ab'],
  labels: ['en'],
  prunedBuckets: null,
  ...over,
});

const enc = (s: string) => new TextEncoder().encode(s);

describe('fastText hashing', () => {
  it('is FNV-1a with bytes sign-extended from int8, as fastText does', () => {
    // Act + Assess: ASCII is plain FNV-1a; 'é' (c3 a9) differs from unsigned FNV-1a.
    expect(fasttextHash(enc(''))).toBe(2166136261);
    expect(fasttextHash(enc('a'))).toBe(0xe40c292c);
    expect(fasttextHash(enc('é'))).toBe(
      Math.imul((Math.imul((2166136261 ^ 0xffffffc3) >>> 0, 16777619) ^ 0xffffffa9) >>> 0, 16777619) >>> 0,
    );
  });
});

describe('Featurizer', () => {
  it('emits word id + char n-grams of <word>, OOV n-grams, and the EOS row last', () => {
    // Prepare
    const f = new Featurizer(tinySpec());
    const gram = (s: string) => 2 + (fasttextHash(enc(s)) % 1000);
    // Act
    const known = f.featurize('ab');
    const oov = f.featurize('xé');
    // Assess
    expect(known).toEqual([1, gram('<a'), gram('<ab'), gram('ab'), gram('ab>'), gram('b>'), 0]);
    expect(oov).toEqual([gram('<x'), gram('<xé'), gram('xé'), gram('xé>'), gram('é>'), 0]);
  });

  it('splits on fastText whitespace, skips __label__ tokens and stops at a literal </s>', () => {
    // Prepare
    const f = new Featurizer(tinySpec({ maxn: 0 }));
    // Act + Assess
    expect(f.featurize(' ab\tab\n__label__en ab ')).toEqual([1, 1, 1, 0]);
    expect(f.featurize('ab </s> ab ab')).toEqual([1, 0]);
    expect(f.featurize('')).toEqual([0]);
  });

  it('keeps only pruned buckets, remapped through prunedBuckets', () => {
    // Prepare
    const keep = fasttextHash(enc('<a')) % 1000;
    const f = new Featurizer(tinySpec({ prunedBuckets: [keep] }));
    // Act + Assess
    expect(f.featurize('ab')).toEqual([1, 2, 0]);
  });

  it('adds word n-gram buckets when wordNgrams > 1', () => {
    // Prepare
    const f = new Featurizer(tinySpec({ maxn: 0, wordNgrams: 2 }));
    // fastText stores word hashes as int32: sign-extended to 64 bits before the multiply-add.
    const signed = (x: number) => BigInt.asUintN(64, BigInt(x | 0));
    const h =
      BigInt.asUintN(64, signed(fasttextHash(enc('ab'))) * 116049371n + signed(fasttextHash(enc('</s>')))) % 1000n;
    expect(fasttextHash(enc('ab')) >= 2 ** 31 || fasttextHash(enc('</s>')) >= 2 ** 31).toBe(true);
    // Act + Assess
    expect(f.featurize('ab')).toEqual([1, 0, 2 + Number(h)]);
  });
});

describe('hasLetters', () => {
  it('is false for empty, digits, punctuation and emoji; true for letters of any script', () => {
    // Act + Assess
    expect(['', '   ', '12 345', '!?…', '🎉👍', '12:30 🎉'].map(hasLetters)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(['a', 'ça', 'Привет', '中文', '1 a'].map(hasLetters)).toEqual([true, true, true, true, true]);
  });
});

describe('LangIdModel', () => {
  let model: LangIdModel;
  beforeAll(async () => {
    model = await loadLangId(path.resolve(BUNDLE), { threads: 1 });
  }, LOAD_TIMEOUT_MS);
  afterAll(async () => {
    await model?.release();
  });

  it('answers a batch with top-k sorted probabilities, pinned to fasttext predict-prob', async () => {
    // Act
    const [en, fr, de] = await model.predict(
      ['hello world', 'Bonjour tout le monde', 'Guten Morgen, wie geht es dir?'],
      3,
    );
    // Assess: reference figures from `fasttext predict-prob lid.176.ftz - 3`
    expect(en?.map((p) => p.label)).toEqual(['en', 'fr', 'ru']);
    expect(en?.[0]?.probability).toBeCloseTo(0.176358, 5);
    expect(fr?.[0]).toMatchObject({ label: 'fr' });
    expect(fr?.[0]?.probability).toBeCloseTo(0.989549, 5);
    expect(de?.[0]?.label).toBe('de');
    for (const top of [en, fr, de])
      expect(top?.map((p) => p.probability)).toEqual([...(top ?? [])].map((p) => p.probability).sort((a, b) => b - a));
  });

  it('gives the same answer alone and padded in a batch, and probabilities summing to ~1', async () => {
    // Act
    const [alone] = await model.probabilities(['ça va ?']);
    const batch = await model.probabilities([
      'ça va ?',
      'a much longer English sentence with plenty of words to pad the other row',
    ]);
    // Assess
    // Padding changes only the float summation order: equal within 1e-6.
    const a = Array.from(alone ?? []);
    expect(batch[0]).toHaveLength(176);
    Array.from(batch[0] ?? []).forEach((p, i) => {
      expect(Math.abs(p - (a[i] ?? 0))).toBeLessThanOrEqual(1e-6);
    });
    expect(Array.from(alone ?? []).reduce((s, p) => s + p, 0)).toBeCloseTo(1, 2);
    expect(await model.predict([], 3)).toEqual([]);
    expect((await model.predict(['hi'], 500))[0]).toHaveLength(176);
  });

  it('reads the bundle it was given: labels from featurizer.json', async () => {
    // Act
    const spec = JSON.parse(await readFile(path.join(BUNDLE, 'featurizer.json'), 'utf8')) as FeaturizerSpec;
    // Assess
    expect(model.labels).toEqual(spec.labels);
    expect(model.labels[0]).toBe('en');
  });
});
