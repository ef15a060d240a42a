import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { get, post, recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

interface Golden {
  max_new_tokens: number;
  cases: Array<{ src_lang: string; tgt_lang: string; text: string; output_ids: number[]; translation_text: string }>;
}
interface Translated {
  text: string;
  source_language: string;
  detected?: { language: string; confidence: number };
  token_ids?: number[][];
}

let api: LocalStack;
let golden: Golden;
beforeAll(async () => {
  // The batch test sends 16 singles at once from one key: this file tests translation, not the
  // per-key limit of heavy work in flight (test/integration/fair-use.test.ts does).
  api = await startTestApi({ HEAVY_IN_FLIGHT_PER_KEY: '16' });
  golden = JSON.parse(await readFile('test/fixtures/models/tiny-nllb/1/golden.json', 'utf8')) as Golden;
});
afterAll(async () => api?.close());

const sentences = (n: number) =>
  Array.from({ length: n }, (_, i) => `This is sentence number ${i + 1} of a long document about files and folders.`);

describe('translate over the local API', () => {
  it('produces the greedy token ids of golden.json for every golden input', async () => {
    for (const c of golden.cases) {
      const { status, body } = await post(api, '/v1/translate', {
        text: c.text,
        source_language: c.src_lang,
        target_language: c.tgt_lang,
        max_new_tokens: golden.max_new_tokens,
        include_token_ids: true,
        split_sentences: false, // golden.json translated each text as one input
      });

      expect(status).toBe(200);
      const [t] = body.translations as Translated[];
      expect(t!.token_ids).toEqual([c.output_ids]);
      expect(t!.text).toBe(c.translation_text);
      expect(body.model).toEqual({ name: 'tiny-nllb', version: '1' });
    }
  });

  it('translates a 5,000-character text of many sentences, keeping its paragraphs', async () => {
    const paragraphs = Array.from({ length: 8 }, (_, p) =>
      sentences(8).join(' ').replace('This', `Paragraph ${p}: this`),
    );
    let text = paragraphs.join('\n\n');
    text = text.slice(0, 5000).replace(/\s+\S*$/, '.');

    const { status, body } = await post(api, '/v1/translate', { text, source_language: 'en', target_language: 'fr' });

    expect(status).toBe(200);
    const [t] = body.translations as Translated[];
    expect(text.length).toBeGreaterThan(4500);
    expect(t!.text.split('\n\n')).toHaveLength(text.split('\n\n').length);
    expect(body.characters).toBe(text.length);
  });

  it('returns 16 translations in order, each equal to its single translation', async () => {
    const texts = sentences(16).map((s, i) => s.repeat((i % 3) + 1));

    const batch = await post(api, '/v1/translate', { texts, source_language: 'eng_Latn', target_language: 'swh_Latn' });
    const singles = await Promise.all(
      texts.map((text) =>
        post(api, '/v1/translate', { text, source_language: 'eng_Latn', target_language: 'swh_Latn' }),
      ),
    );

    const results = batch.body.translations as Translated[];
    expect(results).toHaveLength(16);
    results.forEach((r, i) => {
      expect(r.text).toBe((singles[i]!.body.translations as Translated[])[0]!.text);
    });
    const records = await recordsOf(api, batch.body.requestId as string);
    expect(records).toHaveLength(16);
    expect(records[0]).toMatchObject({
      capability: 'translate',
      model: 'tiny-nllb',
      output: { source: 'eng_Latn', target: 'swh_Latn' },
    });
  });

  it('detects the source when it is missing or auto, and reports it', async () => {
    const { status, body } = await post(api, '/v1/translate', {
      texts: ['Le fichier n’a pas pu être ouvert car l’accès a été refusé.', 'The file could not be opened.'],
      source_language: 'auto',
      target_language: 'deu_Latn',
    });

    expect(status).toBe(200);
    const [fr, en] = body.translations as Translated[];
    expect(fr!.source_language).toBe('fra_Latn');
    expect(fr!.detected!.language).toBe('fra_Latn');
    expect(fr!.detected!.confidence).toBeGreaterThan(0.5);
    expect(en!.source_language).toBe('eng_Latn');
  });

  it('lists the supported languages, both shapes', async () => {
    const v1 = await get(api, '/v1/languages');
    const libre = await fetch(`${api.url}/languages`, { headers: { 'x-api-key': TEST_KEY } });
    const list = (await libre.json()) as Array<{ code: string; name: string; targets: string[] }>;

    const languages = v1.body.languages as Array<{ code: string; name: string; script: string }>;
    expect(languages).toHaveLength(202);
    expect(languages).toContainEqual(expect.objectContaining({ code: 'swh_Latn', name: 'Swahili', script: 'Latn' }));
    expect(list).toHaveLength(202);
    expect(list.find((l) => l.code === 'fr')?.targets).toContain('sw');
  });

  it('serves LibreTranslate clients on /translate, JSON or form-encoded', async () => {
    const asJson = await post(api, '/translate', {
      q: 'The file could not be opened.',
      source: 'en',
      target: 'fr',
      format: 'text',
    });
    const res = await fetch(`${api.url}/translate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-api-key': TEST_KEY },
      body: new URLSearchParams({ q: 'The file could not be opened.', source: 'auto', target: 'fr' }).toString(),
    });
    const asForm = (await res.json()) as {
      translatedText: string;
      detectedLanguage?: { language: string; confidence: number };
    };
    const list = await post(api, '/translate', { q: ['One.', 'Two.'], source: 'en', target: 'fr' });

    expect(asJson.status).toBe(200);
    expect(typeof asJson.body.translatedText).toBe('string');
    expect(asJson.body.detectedLanguage).toBeUndefined();
    expect(asForm.translatedText).toBe(asJson.body.translatedText);
    expect(asForm.detectedLanguage).toMatchObject({ language: 'en' });
    expect(list.body.translatedText).toHaveLength(2);
  });
});

describe('translate rejects bad input with a 4xx that says what to fix', () => {
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['missing target', '/v1/translate', { text: 'Hello' }, /^target_language: /],
    [
      'unknown target code',
      '/v1/translate',
      { text: 'Hello', target_language: 'fra_Latm' },
      /Unsupported language code "fra_Latm".*fra_Latn/,
    ],
    [
      'unknown source code',
      '/v1/translate',
      { text: 'Hello', target_language: 'fr', source_language: 'xx' },
      /source_language: /,
    ],
    ['over-limit text', '/v1/translate', { text: 'a'.repeat(5001), target_language: 'fr' }, /at most 5000 characters/],
    ['empty batch', '/v1/translate', { texts: [], target_language: 'fr' }, /at least one text/],
    ['non-string item', '/v1/translate', { texts: ['ok', 1], target_language: 'fr' }, /texts\[1\]: must be a string/],
    [
      'too many beams',
      '/v1/translate',
      { text: 'Hi', target_language: 'fr', num_beams: 99 },
      /num_beams: must be at most 8/,
    ],
    // The request contract alone checks these ranges (the translator checks only what depends on the model).
    ['no beams', '/v1/translate', { text: 'Hi', target_language: 'fr', num_beams: 0 }, /^num_beams: /],
    ['fractional beams', '/v1/translate', { text: 'Hi', target_language: 'fr', num_beams: 1.5 }, /^num_beams: /],
    ['no new tokens', '/v1/translate', { text: 'Hi', target_language: 'fr', max_new_tokens: 0 }, /^max_new_tokens: /],
    [
      'fractional new tokens',
      '/v1/translate',
      { text: 'Hi', target_language: 'fr', max_new_tokens: 2.5 },
      /^max_new_tokens: /,
    ],
    // LibreTranslate's /translate answers in its own shape: test/integration/libretranslate.test.ts.
  ];

  it.each(cases)('%s', async (_name, path, body, message) => {
    const res = await post(api, path, body);

    expect(res.status).toBe(400);
    expect(res.body.error?.message).toMatch(message);
  });
});
