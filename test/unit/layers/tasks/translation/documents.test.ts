import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadTranslator,
  localeFor,
  splitText,
  type TranslateOptions,
  type Translation,
  type Translator,
  translateDocuments,
} from '#tasks/translation/index.ts';

const BUNDLE = path.resolve(import.meta.dirname, '../../../../fixtures/models/tiny-nllb/1');
const LOAD_TIMEOUT_MS = 30_000;
const LONG_TEST_TIMEOUT_MS = 60_000;
// English UI messages from shared/data/messages-parallel.tsv (gettext catalogs).
const sentences = JSON.parse(
  readFileSync(path.join(import.meta.dirname, '../../../../fixtures/english-sentences.json'), 'utf8'),
) as string[];

/** Counts one token per whitespace-separated word plus two special tokens (like `[lang] ... </s>`). */
const wordCount = (t: string): number => t.split(/\s+/).filter(Boolean).length + 2;

/**
 * A translator that upper-cases: shows exactly what `translateDocuments` sends and how it
 * joins the answers, without a model.
 */
const upperCaser = (maxSourceTokens: number): Translator & { calls: string[][]; sources: unknown[] } => {
  const calls: string[][] = [];
  const sources: unknown[] = [];
  return {
    calls,
    sources,
    kind: 'multilingual',
    maxInputTokens: 1024,
    maxSourceTokens,
    maxNewTokensCap: 199,
    languages: () => ['eng_Latn', 'fra_Latn', 'zho_Hans'],
    encode: () => [],
    countTokens: wordCount,
    maxNewTokensFor: () => 1,
    translate: async (texts: readonly string[], options: TranslateOptions): Promise<Translation[]> => {
      calls.push([...texts]);
      sources.push(options.source);
      return texts.map((t) => ({
        text: t.toUpperCase(),
        tokenIds: [0, 1, 2],
        ...(options.alternatives ? { alternatives: [`${t.toUpperCase()}!`, t.toLowerCase()] } : {}),
      }));
    },
    dispose: async () => {},
  };
};

describe('splitText', () => {
  it('keeps line breaks verbatim and cuts lines into sentences', () => {
    // Act
    const parts = splitText('  One. Two!\r\n\n  Three?  \nFour', 'en', 100, wordCount);

    // Assess
    expect(parts).toEqual([
      { kind: 'keep', text: '  ' },
      { kind: 'translate', text: 'One.' },
      { kind: 'join', text: ' ' },
      { kind: 'translate', text: 'Two!' },
      { kind: 'keep', text: '\r\n\n  ' },
      { kind: 'translate', text: 'Three?' },
      { kind: 'keep', text: '  \n' },
      { kind: 'translate', text: 'Four' },
    ]);
  });

  it('halves an overlong sentence at whitespace until every piece fits', () => {
    // Prepare: 40 words, at most 12 tokens (10 words) per piece.
    const sentence = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');

    // Act
    const parts = splitText(sentence, 'en', 12, wordCount);

    // Assess
    const pieces = parts.filter((p) => p.kind === 'translate').map((p) => p.text);
    expect(pieces.every((p) => wordCount(p) <= 12)).toBe(true);
    // Halving keeps pieces balanced: 40 words need 4 pieces of 10, and cuts by characters may need one more.
    expect(pieces.length).toBeGreaterThanOrEqual(4);
    expect(pieces.length).toBeLessThanOrEqual(5);
    expect(parts.map((p) => p.text).join('')).toBe(sentence);
  });

  it('cuts text without spaces at word boundaries', () => {
    // Prepare: one "word" per character for the counter, so the 12-character sentence needs cutting.
    const sentence = '我们今天去公园散步然后回家';
    const perChar = (t: string) => [...t].length + 2;

    // Act
    const parts = splitText(sentence, 'zh-Hans', 8, perChar);

    // Assess
    const pieces = parts.filter((p) => p.kind === 'translate').map((p) => p.text);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.every((p) => perChar(p) <= 8)).toBe(true);
    expect(pieces.join('')).toBe(sentence);
  });
});

describe('localeFor', () => {
  it.each([
    ['eng_Latn', 'en-Latn'],
    ['zho_Hant', 'zh-Hant'],
    ['swh_Latn', 'sw-Latn'],
  ])('%s -> %s', (code, locale) => {
    expect(localeFor(code)).toBe(locale);
  });
});

describe('translateDocuments with a stand-in translator', () => {
  it('rejoins pieces with the exact source separators, all texts in one translate call', async () => {
    // Prepare
    const fake = upperCaser(12);
    const long = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const texts = ['Hello there. How are you?\n\n  Fine.  ', `${long}.\nEnd`, '', '   '];

    // Act
    const docs = await translateDocuments(fake, texts, { source: 'en', target: 'fr' });

    // Assess
    expect(docs.map((d) => d.text)).toEqual(texts.map((t) => t.toUpperCase()));
    expect(fake.calls).toHaveLength(1);
    expect(docs.map((d) => d.segments)).toEqual([3, 5, 0, 0]);
  });

  it("gives a one-sentence text its piece's alternatives in place, and a text of several none", async () => {
    // Act
    const docs = await translateDocuments(upperCaser(100), ['\nHello there.\n', 'One. Two.'], {
      source: 'eng_Latn',
      target: 'fra_Latn',
      alternatives: 2,
    });
    const plain = await translateDocuments(upperCaser(100), ['Hello there.'], {
      source: 'eng_Latn',
      target: 'fra_Latn',
    });

    // Assess
    expect(docs[0]).toMatchObject({
      text: '\nHELLO THERE.\n',
      alternatives: ['\nHELLO THERE.!\n', '\nhello there.\n'],
    });
    expect(docs[1]).toMatchObject({ text: 'ONE. TWO.', alternatives: [] });
    expect(plain[0]).not.toHaveProperty('alternatives');
  });

  it('drops the space between sentences for a target written without spaces', async () => {
    // Act
    const [doc] = await translateDocuments(upperCaser(100), ['One. Two.\nThree.'], {
      source: 'eng_Latn',
      target: 'zho_Hans',
    });

    // Assess
    expect(doc?.text).toBe('ONE.TWO.\nTHREE.');
  });

  it('takes one source language per text, all pieces in one translate call', async () => {
    // Prepare
    const fake = upperCaser(100);

    // Act
    const docs = await translateDocuments(fake, ['Hello. World.', '你好。再见。'], {
      source: ['eng_Latn', 'zho_Hans'],
      target: 'fra_Latn',
    });

    // Assess
    expect(docs.map((d) => d.text)).toEqual(['HELLO. WORLD.', '你好。 再见。']);
    expect(fake.calls).toEqual([['Hello.', 'World.', '你好。', '再见。']]);
    expect(fake.sources).toEqual([['eng_Latn', 'eng_Latn', 'zho_Hans', 'zho_Hans']]);
  });

  it('adds a space between sentences when the source had none', async () => {
    // Act
    const [doc] = await translateDocuments(upperCaser(100), ['你好。再见。'], {
      source: 'zho_Hans',
      target: 'eng_Latn',
    });

    // Assess
    expect(doc?.text).toBe('你好。 再见。');
  });
});

describe('translateDocuments on tiny-nllb', () => {
  let translator: Translator;
  beforeAll(async () => {
    translator = await loadTranslator(BUNDLE, { dtype: 'fp32' });
  }, LOAD_TIMEOUT_MS);
  afterAll(async () => {
    await translator?.dispose();
  });

  it(
    'translates a 5,000-character, multi-paragraph text and keeps its paragraph count',
    async () => {
      // Prepare: paragraphs of 2 to 6 sentences, as many as fit in 5,000 characters.
      const paragraphs: string[] = [];
      let used = 0;
      for (;;) {
        const size = 2 + (paragraphs.length % 5);
        const paragraph = sentences.slice(used, used + size).join(' ');
        if ([...paragraphs, paragraph].join('\n\n').length > 5_000 || used + size > sentences.length) break;
        paragraphs.push(paragraph);
        used += size;
      }
      const text = paragraphs.join('\n\n');

      // Act
      const [doc] = await translateDocuments(translator, [text], { source: 'eng_Latn', target: 'fra_Latn' });

      // Assess
      expect(text.length).toBeGreaterThanOrEqual(4_800);
      expect(translator.countTokens(text)).toBeGreaterThan(translator.maxInputTokens);
      expect(doc?.text.split('\n\n')).toHaveLength(paragraphs.length);
      expect(doc?.text.split('\n\n').every((p) => p.trim().length > 0)).toBe(true);
      expect(doc?.segments).toBe(used);
    },
    LONG_TEST_TIMEOUT_MS,
  );

  it(
    'cuts one overlong sentence into pieces the model can read',
    async () => {
      // Prepare: one "sentence" of ~200 words without a full stop.
      const sentence = sentences
        .slice(0, 25)
        .map((s) => s.replace(/[.!?]$/, ''))
        .join(', ');

      // Act
      const [doc] = await translateDocuments(translator, [sentence], { source: 'eng_Latn', target: 'fra_Latn' });

      // Assess
      expect(translator.countTokens(sentence)).toBeGreaterThan(translator.maxSourceTokens);
      expect(doc?.segments).toBeGreaterThan(1);
      expect(doc?.inputTokens).toBeGreaterThan(translator.maxSourceTokens);
      expect(doc?.text.length).toBeGreaterThan(0);
    },
    LONG_TEST_TIMEOUT_MS,
  );
});

describe('translateDocuments output bound over the whole text', () => {
  it('gives 5,000 characters of one-word sentences about twice their tokens back, not a per-sentence allowance each', async () => {
    const translator = await loadTranslator(path.join('test/fixtures/models/tiny-nllb/1'));
    const words = ['Yes.', 'No.', 'Go.', 'Stop.', 'Wait.', 'Run.'];
    let text = '';
    for (let i = 0; text.length < 5000; i++) text += `${words[i % words.length]} `;
    text = text.slice(0, 5000).trim();

    const [doc] = await translateDocuments(translator, [text], { source: 'eng_Latn', target: 'fra_Latn' });

    expect(doc!.segments).toBeGreaterThan(900);
    expect(doc!.outputTokens).toBeLessThanOrEqual(2 * doc!.inputTokens + 10);
    // Was 14.8× on the fixture (each sentence took up to 2 × its tokens + 10).
    expect(doc!.text.length / text.length).toBeLessThan(6);
    await translator.dispose();
  }, 120_000);
});
