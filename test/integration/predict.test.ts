import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { get, post, recordsOf, SLOW_KEY, startTestApi } from '../helpers/local-api.ts';

const GOLDEN = 'test/fixtures/models/tiny-distilbert-sentiment/1/golden.json';
const TOLERANCE_DIGITS = 4;

interface Golden {
  cases: Array<{ text: string; label: string; scores: Record<string, number> }>;
}

let api: LocalStack;
let golden: Golden;
beforeAll(async () => {
  api = await startTestApi();
  golden = JSON.parse(await readFile(GOLDEN, 'utf8')) as Golden;
});
afterAll(async () => api?.close());

describe('predict over the local API', () => {
  it('matches golden.json for every golden input', async () => {
    for (const c of golden.cases) {
      const { status, body, headers } = await post(api, '/v1/predict', { text: c.text });

      expect(status).toBe(200);
      expect(body.label).toBe(c.label);
      for (const s of body.scores as Array<{ label: string; score: number }>) {
        expect(s.score).toBeCloseTo(c.scores[s.label]!, TOLERANCE_DIGITS);
      }
      expect(body.model).toEqual({ name: 'tiny-distilbert-sentiment', version: '1' });
      expect(headers.get('x-request-id')).toBe(body.requestId);
    }
  });

  it('returns batch results in input order, equal to single results', async () => {
    const texts = golden.cases.map((c) => c.text);

    const batch = await post(api, '/v1/predict/batch', { texts });
    const singles = await Promise.all(texts.map((text) => post(api, '/v1/predict', { text })));

    expect(batch.status).toBe(200);
    const results = batch.body.results as Array<{ label: string; score: number }>;
    expect(results).toHaveLength(texts.length);
    results.forEach((r, i) => {
      expect(r.label).toBe(singles[i]!.body.label);
      expect(r.score).toBeCloseTo(singles[i]!.body.score as number, 5);
    });
  });

  it('writes one prediction record per text with the contract fields', async () => {
    const texts = ['first text', 'second, longer text'];
    const { body } = await post(api, '/v1/predict/batch', { texts, model: 'tiny-distilbert-sentiment@2' });

    const records = await recordsOf(api, body.requestId as string);

    expect(records).toHaveLength(2);
    records.forEach((r, i) => {
      expect(r).toMatchObject({
        capability: 'predict',
        model: 'tiny-distilbert-sentiment',
        version: '2',
        requestId: body.requestId,
        index: i,
        inputLength: texts[i]!.length,
        output: { label: (body.results as Array<{ label: string }>)[i]!.label },
      });
      expect(r.inputHash).toMatch(/^[a-f0-9]{64}$/);
      expect(r.input).toBeUndefined(); // raw text only when the stage opts in
      expect(r.apiKeyIdHash).toMatch(/^[a-f0-9]{16}$/);
      expect(typeof r.latencyMs).toBe('number');
      expect(r.expiresAt).toBeGreaterThan(Date.now() / 1000);
      expect(Date.parse(r.timestamp as string)).not.toBeNaN();
    });
  });

  it('requires an API key except on /health', async () => {
    const health = await get(api, '/health', {});
    const noKey = await post(api, '/v1/predict', { text: 'x' }, { 'x-api-key': '' });
    const badKey = await post(api, '/v1/predict', { text: 'x' }, { 'x-api-key': 'not-a-key' });

    expect(health.status).toBe(200);
    expect(noKey.status).toBe(401);
    expect(badKey.status).toBe(403);
    expect(noKey.body.error?.message).toMatch(/x-api-key/);
  });

  it('answers 429 past the usage-plan rate of the key', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await post(api, '/v1/predict', { text: 'x' }, { 'x-api-key': SLOW_KEY })).status);

    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses).toContain(429);
  });

  it('reports loaded models on /v1/status', async () => {
    const { status, body } = await get(api, '/v1/status');

    expect(status).toBe(200);
    expect((body.models as Array<{ key: string }>).map((m) => m.key)).toContain('tiny-distilbert-sentiment@1');
    expect(body.memory).toHaveProperty('rss');
  });
});

describe('predict rejects bad input with a 4xx that says what to fix', () => {
  const cases: Array<[string, string, unknown, Record<string, string>, number, RegExp]> = [
    ['malformed JSON', '/v1/predict', '{"text":', {}, 400, /Malformed JSON/],
    ['wrong content type', '/v1/predict', '{"text":"x"}', { 'content-type': 'text/plain' }, 415, /application\/json/],
    ['missing text', '/v1/predict', {}, {}, 400, /^text: /],
    ['empty text', '/v1/predict', { text: '   ' }, {}, 400, /text: must not be empty/],
    ['non-string text', '/v1/predict', { text: 42 }, {}, 400, /text: must be a string/],
    ['text over the limit', '/v1/predict', { text: 'a'.repeat(5001) }, {}, 400, /at most 5000 characters \(got 5001\)/],
    ['non-string batch item', '/v1/predict/batch', { texts: ['ok', null] }, {}, 400, /texts\[1\]: must be a string/],
    ['empty batch', '/v1/predict/batch', { texts: [] }, {}, 400, /at least one text/],
    ['batch over the limit', '/v1/predict/batch', { texts: Array(65).fill('x') }, {}, 400, /at most 64 texts/],
    [
      'unknown model',
      '/v1/predict',
      { text: 'x', model: 'nope' },
      {},
      400,
      /Available text-classification models: \["tiny-distilbert-sentiment"\]/,
    ],
    [
      'unknown version',
      '/v1/predict',
      { text: 'x', model: 'tiny-distilbert-sentiment@9' },
      {},
      400,
      /Versions: \["1", "2"\]/,
    ],
    ['unknown field', '/v1/predict', { text: 'x', txt: 'y' }, {}, 400, /txt/],
  ];

  it.each(cases)('%s', async (_name, path, body, headers, status, message) => {
    const res = await post(api, path, body, headers);

    expect(res.status).toBe(status);
    expect(res.body.error?.message).toMatch(message);
    expect(res.body.error?.requestId).toBeTruthy();
  });

  it('answers an unknown route with a JSON 404', async () => {
    const res = await post(api, '/v1/nothing', { text: 'x' });

    expect(res.status).toBe(404);
    expect(res.body.error?.code).toBe('not_found');
  });
});
