import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyIdOf } from '#local/server.ts';
import type { LocalStack } from '#local/stack.ts';
import { makeDocumentClient } from '#predictions/client.ts';
import { hashApiKeyId } from '#predictions/log.ts';
import { resultCacheKey } from '#runtime/result-cache.ts';
import { get, post, recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';
import { featureRegistry, goldenOf, MODEL } from './predict-registry.ts';

const DIGITS = 4;
type Scores = Array<{ label: string; score: number }>;
interface Result {
  label: string;
  score: number;
  scores: Scores;
  cached?: boolean;
}

let api: LocalStack;
let v1: Awaited<ReturnType<typeof goldenOf>>;
let v2: Awaited<ReturnType<typeof goldenOf>>;
beforeAll(async () => {
  api = await startTestApi({ MODELS_DIR: await featureRegistry() });
  [v1, v2] = await Promise.all([goldenOf('1'), goldenOf('2')]);
});
afterAll(async () => api?.close());

const scoreOf = (scores: Scores, label: string) => scores.find((s) => s.label === label)!.score;
const inferenceTexts = async () => ((await get(api, '/v1/status')).body.inference as { texts: number }).texts;

describe('versions and aliases in the response', () => {
  it('names the served version, and the alias when the caller named one', async () => {
    const byVersion = await post(api, '/v1/predict', { text: 'x', model: `${MODEL}@2` });
    const byAlias = await post(api, '/v1/predict', { text: 'x', model: `${MODEL}@prod` });
    const bare = await post(api, '/v1/predict', { text: 'x', model: MODEL });

    expect(byVersion.body.model).toEqual({ name: MODEL, version: '2' });
    expect(byAlias.body.model).toEqual({ name: MODEL, version: '1', alias: 'prod', canary: false });
    expect(bare.body.model).toEqual({ name: MODEL, version: '1' });
    expect((await recordsOf(api, byAlias.body.requestId as string))[0]).toMatchObject({ alias: 'prod', canary: false });
  });
});

describe('result cache', () => {
  it('answers an identical request from the cache, equal to the uncached answer, without inference', async () => {
    const text = `cache me ${Date.now()}`;
    const cold = await post(api, '/v1/predict', { text });
    const before = await inferenceTexts();

    const warm = await post(api, '/v1/predict', { text });
    const after = await inferenceTexts();

    expect(cold.body.cached).toBe(false);
    expect(warm.body.cached).toBe(true);
    const { cached: _a, requestId: _ra, ...coldAnswer } = cold.body;
    const { cached: _b, requestId: _rb, ...warmAnswer } = warm.body;
    expect(warmAnswer).toEqual(coldAnswer);
    expect(after).toBe(before);
    expect((await recordsOf(api, warm.body.requestId as string))[0]).toMatchObject({ cached: true });
    expect((await recordsOf(api, cold.body.requestId as string))[0]).toMatchObject({ cached: false });
  });

  it('stores the answer in the shared DynamoDB table under sha256(key, model@version, options, text)', async () => {
    const text = `shared ${Date.now()}`;
    const { body } = await post(api, '/v1/predict', { text, model: `${MODEL}@2` });
    // The cache item travels on the request's records line, ingested after the answer.
    await api.records.settled();

    const item = await makeDocumentClient(api.config).send(
      new GetCommand({
        TableName: api.config.RESULT_CACHE_TABLE,
        Key: { cacheKey: resultCacheKey(`${MODEL}@2`, {}, text, hashApiKeyId(apiKeyIdOf(TEST_KEY))) },
      }),
    );

    expect(item.Item?.value).toMatchObject({ label: body.label, score: body.score });
    expect(item.Item?.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  it('marks cached per result in a batch, and keys by resolved version', async () => {
    const seen = `batch seen ${Date.now()}`;
    await post(api, '/v1/predict', { text: seen, model: `${MODEL}@1` });
    const before = await inferenceTexts();

    const batch = await post(api, '/v1/predict/batch', { texts: [seen, `${seen} new`], model: `${MODEL}@prod` });
    const otherVersion = await post(api, '/v1/predict', { text: seen, model: `${MODEL}@2` });

    expect((batch.body.results as Result[]).map((r) => r.cached)).toEqual([true, false]);
    expect(otherVersion.body.cached).toBe(false);
    expect((await inferenceTexts()) - before).toBe(2);
  });
});

describe('POST /v1/predict/compare', () => {
  it('runs both versions and flags agreement per text, with a comparison id on the records', async () => {
    const texts = v1.map((c) => c.text);

    const { status, body } = await post(api, '/v1/predict/compare', { texts, model: MODEL, versions: ['1', '2'] });

    expect(status).toBe(200);
    const results = body.results as Array<{ a: Result; b: Result; agree: boolean }>;
    results.forEach((r, i) => {
      expect(r.a.label).toBe(v1[i]!.label);
      expect(r.b.label).toBe(v2[i]!.label);
      expect(r.a.score).toBeCloseTo(v1[i]!.scores[v1[i]!.label]!, DIGITS);
      expect(r.agree).toBe(v1[i]!.label === v2[i]!.label);
    });
    const agreeing = v1.filter((c, i) => c.label === v2[i]!.label).length;
    expect(body.agreementRate).toBeCloseTo(agreeing / texts.length, 10);
    expect(body.versions).toEqual({ a: { name: MODEL, version: '1' }, b: { name: MODEL, version: '2' } });
    const records = await recordsOf(api, body.requestId as string);
    expect(records).toHaveLength(2 * texts.length);
    expect(new Set(records.map((r) => r.comparisonId))).toEqual(new Set([body.comparisonId]));
    expect(records.filter((r) => r.side === 'a').every((r) => r.version === '1')).toBe(true);
    expect(records.filter((r) => r.side === 'b').every((r) => r.version === '2')).toBe(true);
  });
});

describe('ensembles', () => {
  const text = 'I love this product, it works perfectly!';

  it('soft-votes two versions to the average of their golden probabilities', async () => {
    const { status, body } = await post(api, '/v1/predict', {
      text,
      ensemble: { members: [`${MODEL}@1`, `${MODEL}@2`], method: 'soft' },
    });

    const g1 = v1.find((c) => c.text === text)!.scores;
    const g2 = v2.find((c) => c.text === text)!.scores;
    expect(status).toBe(200);
    expect(body.label).toBe('POSITIVE');
    expect(body.score).toBeCloseTo((g1.POSITIVE! + g2.POSITIVE!) / 2, DIGITS);
    expect(scoreOf(body.scores as Scores, 'NEGATIVE')).toBeCloseTo((g1.NEGATIVE! + g2.NEGATIVE!) / 2, DIGITS);
    const members = body.members as Array<Result & { model: { name: string; version: string } }>;
    expect(members.map((m) => [m.model.version, m.label])).toEqual([
      ['1', 'POSITIVE'],
      ['2', 'NEGATIVE'],
    ]);
    expect(body.excluded).toEqual([]);
    const records = await recordsOf(api, body.requestId as string);
    expect(records.map((r) => `${r.model}@${r.version}`).sort()).toEqual(
      [`${MODEL}@1`, `${MODEL}@2`, `ensemble@${MODEL}@1+${MODEL}@2`].sort(),
    );
    expect(records.find((r) => r.model === 'ensemble')?.output).toMatchObject({ label: 'POSITIVE', method: 'soft' });
  });

  it('hard-votes a batch with weights', async () => {
    const { body } = await post(api, '/v1/predict/batch', {
      texts: [text, 'ok'],
      ensemble: { members: [`${MODEL}@1`, `${MODEL}@2`], method: 'hard', weights: [1, 2] },
    });

    // v2 outweighs v1: its top labels win ("I love…" NEGATIVE, "ok" POSITIVE), share 2/3.
    const results = body.results as Result[];
    expect(results.map((r) => r.label)).toEqual(['NEGATIVE', 'POSITIVE']);
    expect(results[0]!.score).toBeCloseTo(2 / 3, 10);
  });

  it('leaves out a member that fails to load and answers with the rest', async () => {
    const { status, body } = await post(api, '/v1/predict', {
      text,
      ensemble: { members: [`${MODEL}@1`, `${MODEL}@3`, `${MODEL}@2`], method: 'soft' },
    });

    const g1 = v1.find((c) => c.text === text)!.scores;
    const g2 = v2.find((c) => c.text === text)!.scores;
    expect(status).toBe(200);
    expect(body.score).toBeCloseTo((g1.POSITIVE! + g2.POSITIVE!) / 2, DIGITS);
    expect(body.excluded).toEqual([
      { model: { name: MODEL, version: '3' }, reason: expect.stringMatching(/could not be loaded/) },
    ]);
    expect((body.members as Array<{ error?: string }>)[1]!.error).toMatch(/could not be loaded/);
  });

  it('answers 503 with Retry-After when every member fails', async () => {
    const res = await post(api, '/v1/predict', {
      text,
      ensemble: { members: [`${MODEL}@3`, `${MODEL}@4`], method: 'hard' },
    });

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
  });

  it('refuses a member listed twice, directly or through an alias, before any inference (400)', async () => {
    const texts = Array(64).fill(text);
    const before = await inferenceTexts();
    const twice = await post(api, '/v1/predict/batch', {
      texts,
      ensemble: { members: [`${MODEL}@1`, `${MODEL}@1`, `${MODEL}@1`, `${MODEL}@1`, `${MODEL}@1`], method: 'soft' },
    });
    const aliased = await post(api, '/v1/predict', {
      text,
      ensemble: { members: [`${MODEL}@prod`, `${MODEL}@1`], method: 'soft' },
    });

    expect(twice.status).toBe(400);
    expect(twice.body.error?.message).toMatch(/ensemble.members\[1\]: .* list each model version once/);
    expect(aliased.status).toBe(400);
    expect(await inferenceTexts()).toBe(before);
  });
});

describe('new routes reject bad input with a 4xx that says what to fix', () => {
  const members = [`${MODEL}@1`, `${MODEL}@2`];
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['compare without versions', '/v1/predict/compare', { text: 'x' }, /^versions: /],
    ['compare with one version', '/v1/predict/compare', { text: 'x', versions: ['1'] }, /exactly two versions/],
    [
      'compare with the same version twice',
      '/v1/predict/compare',
      { text: 'x', versions: ['1', '1'] },
      /two different/,
    ],
    [
      'compare with text and texts',
      '/v1/predict/compare',
      { text: 'x', texts: ['y'], versions: ['1', '2'] },
      /either "text"/,
    ],
    [
      'compare with model@version',
      '/v1/predict/compare',
      { text: 'x', model: `${MODEL}@1`, versions: ['1', '2'] },
      /without "@"/,
    ],
    [
      'compare with an unknown version',
      '/v1/predict/compare',
      { text: 'x', versions: ['1', '9'] },
      /Versions: \["1", "2", "3", "4"\]/,
    ],
    [
      'model and ensemble',
      '/v1/predict',
      { text: 'x', model: MODEL, ensemble: { members, method: 'soft' } },
      /either "model" or "ensemble"/,
    ],
    [
      'one member',
      '/v1/predict',
      { text: 'x', ensemble: { members: [members[0]], method: 'soft' } },
      /at least 2 model references/,
    ],
    [
      'six members',
      '/v1/predict',
      { text: 'x', ensemble: { members: Array(6).fill(members[0]), method: 'soft' } },
      /at most 5/,
    ],
    [
      'unknown method',
      '/v1/predict',
      { text: 'x', ensemble: { members, method: 'mean' } },
      /must be one of \["soft", "hard"\]/,
    ],
    [
      'weights of the wrong length',
      '/v1/predict',
      { text: 'x', ensemble: { members, method: 'soft', weights: [1] } },
      /one weight per member/,
    ],
    [
      'negative weight',
      '/v1/predict',
      { text: 'x', ensemble: { members, method: 'soft', weights: [1, -1] } },
      /must be ≥ 0/,
    ],
    [
      'all-zero weights',
      '/v1/predict/batch',
      { texts: ['x'], ensemble: { members, method: 'soft', weights: [0, 0] } },
      /at least one weight must be above 0/,
    ],
    [
      'unknown member',
      '/v1/predict',
      { text: 'x', ensemble: { members: [members[0], 'nope'], method: 'soft' } },
      /Unknown model "nope"/,
    ],
    [
      'other label set',
      '/v1/predict',
      { text: 'x', ensemble: { members: [members[0], 'tiny-other-labels'], method: 'soft' } },
      /share one label set/,
    ],
  ];

  it.each(cases)('%s', async (_name, path, body, message) => {
    const res = await post(api, path, body);

    expect(res.status).toBe(400);
    expect(res.body.error?.message).toMatch(message);
    expect(res.body.error?.requestId).toBeTruthy();
  });
});
