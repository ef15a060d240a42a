import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

interface Detection {
  language: string;
  flores: string | null;
  iso639_1: string | null;
  iso639_3: string;
  name: string;
  confidence: number;
  alternatives: Detection[];
}

describe('detect over the local API', () => {
  it('detects one text with codes, name, confidence and alternatives', async () => {
    const { status, body } = await post(api, '/v1/detect', {
      text: 'Доброго ранку! Як справи? Сподіваюся, у вас усе добре.',
    });

    const d = body as unknown as Detection;
    expect(status).toBe(200);
    expect(d).toMatchObject({ language: 'uk', flores: 'ukr_Cyrl', iso639_1: 'uk', iso639_3: 'ukr', name: 'Ukrainian' });
    expect(d.confidence).toBeGreaterThan(0.5);
    expect(d.alternatives).toHaveLength(2); // top_k 3 by default: the top plus two others
    expect(d.alternatives[0]!.confidence).toBeLessThanOrEqual(d.confidence);
  });

  it('answers a batch in input order, equal to single answers, honouring top_k', async () => {
    const texts = ['Bonjour tout le monde, comment allez-vous ?', 'Guten Morgen, wie geht es dir heute?', '12:30 🎉'];

    const batch = await post(api, '/v1/detect', { texts, top_k: 5 });
    const singles = await Promise.all(texts.map((text) => post(api, '/v1/detect', { text, top_k: 5 })));

    const results = batch.body.results as Detection[];
    expect(results.map((r) => r.language)).toEqual(['fr', 'de', 'und']);
    results.forEach((r, i) => {
      expect(r.language).toBe(singles[i]!.body.language);
      expect(r.confidence).toBeCloseTo(singles[i]!.body.confidence as number, 6);
    });
    expect(results[0]!.alternatives).toHaveLength(4);
    expect(results[2]).toMatchObject({ language: 'und', confidence: 0, alternatives: [] });
    const records = await recordsOf(api, batch.body.requestId as string);
    expect(records.map((r) => (r.output as { language: string }).language)).toEqual(['fr', 'de', 'und']);
    expect(records[0]).toMatchObject({ capability: 'detect', model: 'lid176', version: '1' });
  });

  it('serves LibreTranslate clients on /detect, JSON or form-encoded', async () => {
    const asJson = await post(api, '/detect', { q: 'Hola, ¿cómo estás? Espero que todo vaya bien.' });
    const res = await fetch(`${api.url}/detect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-api-key': TEST_KEY },
      body: new URLSearchParams({ q: 'Hola, ¿cómo estás? Espero que todo vaya bien.' }).toString(),
    });
    const asForm = (await res.json()) as Array<{ language: string; confidence: number }>;

    const list = asJson.body as unknown as Array<{ language: string; confidence: number }>;
    expect(asJson.status).toBe(200);
    expect(list[0]!.language).toBe('es');
    expect(list[0]!.confidence).toBeGreaterThan(50);
    expect(list[0]!.confidence).toBeLessThanOrEqual(100);
    expect(Object.keys(list[0]!).sort()).toEqual(['confidence', 'language']);
    expect(asForm).toEqual(list);
  });
});

describe('detect rejects bad input with a 4xx that says what to fix', () => {
  const cases: Array<[string, string, unknown, number, RegExp]> = [
    ['empty text', '/v1/detect', { text: '  ' }, 400, /text: must not be empty/],
    ['neither text nor texts', '/v1/detect', {}, 400, /either "text".*or "texts"/],
    ['both text and texts', '/v1/detect', { text: 'a', texts: ['b'] }, 400, /either "text"/],
    ['non-string item', '/v1/detect', { texts: ['ok', 5] }, 400, /texts\[1\]: must be a string/],
    ['top_k out of range', '/v1/detect', { text: 'hello', top_k: 0 }, 400, /top_k: must be at least 1/],
    ['empty batch', '/v1/detect', { texts: [] }, 400, /at least one text/],
    ['over-long text', '/v1/detect', { text: 'a'.repeat(5001) }, 400, /at most 5000 characters/],
  ];

  it.each(cases)('%s', async (_name, path, body, status, message) => {
    const res = await post(api, path, body);

    expect(res.status).toBe(status);
    expect(res.body.error?.message).toMatch(message);
  });
});
