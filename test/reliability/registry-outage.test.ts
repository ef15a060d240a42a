import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { createModelRuntime, modelRuntime, REGISTRY_COPY_DIR } from '#storage/model-runtime.ts';
import { predict } from '#tasks/classification/predict.ts';
import { ageFiles, tempDir } from '../helpers/bundles.ts';
import { post, startTestApi } from '../helpers/local-api.ts';
import { putText, putTree, startTestS3, type TestS3 } from '../helpers/s3.ts';

const MODEL = 'tiny-distilbert-sentiment';
const FIXTURE = path.resolve('test/fixtures/models', MODEL);
/** A bare name (its `prod` alias), a version, an alias: the three ways to name a model. */
const REFS = [MODEL, `${MODEL}@2`, `${MODEL}@prod`] as const;
const DIGITS = 6;

interface Answer {
  label: string;
  score: number;
  model: { name: string; version: string };
}

/**
 * The warm function's registry TTL (30 s) runs out: it forgets its aliases and listings,
 * as it does every TTL, and reads the registry again on the next request. The copies on
 * the cache folder are then older than REGISTRY_COPY_FRESH_MS too: a new container asks
 * S3 rather than take them.
 */
const ttlPassed = async () => {
  modelRuntime().registry.invalidate();
  await ageFiles(path.join(api.config.MODEL_CACHE_DIR, REGISTRY_COPY_DIR), 30_000);
};

/** A fresh runtime on the same cache folder: a new Lambda container on the same EFS. */
const freshRuntime = () => createModelRuntime(api.config);

let s3: TestS3;
let api: LocalStack;
let text: string;
const before = new Map<string, Answer>();
beforeAll(async () => {
  s3 = await startTestS3(await tempDir('registry-s3'));
  await putTree(s3, FIXTURE, MODEL);
  api = await startTestApi(s3.env);
  const golden = JSON.parse(await readFile(path.join(FIXTURE, '1', 'golden.json'), 'utf8')) as {
    cases: Array<{ text: string }>;
  };
  text = golden.cases[0]!.text;
  // The cache is warm: each reference answered once while S3 was up.
  for (const model of REFS) {
    const res = await post(api, '/v1/predict', { text, model });
    expect(res.status).toBe(200);
    before.set(model, res.body as unknown as Answer);
  }
  expect(new Set([...before.values()].map((a) => a.model.version))).toEqual(new Set(['1', '2']));
  await s3.stop();
  await ttlPassed();
});
afterAll(async () => {
  await api?.close();
  await s3?.close();
});

describe('S3 unreachable with a warm cache', () => {
  it('answers by bare name, version and alias in the same process', async () => {
    for (const model of REFS) {
      const res = await post(api, '/v1/predict', { text, model });

      expect(res.status).toBe(200);
      const answer = res.body as unknown as Answer;
      expect(answer.model.version).toBe(before.get(model)!.model.version);
      expect(answer.label).toBe(before.get(model)!.label);
      expect(answer.score).toBeCloseTo(before.get(model)!.score, DIGITS);
    }
  });

  it('answers by bare name, version and alias in a new runtime on the same cache folder', async () => {
    const runtime = freshRuntime();
    for (const model of REFS) {
      const out = await predict(runtime, model, [text]);

      expect(out.model.version).toBe(before.get(model)!.model.version);
      expect(out.results[0]!.label).toBe(before.get(model)!.label);
      expect(out.results[0]!.score).toBeCloseTo(before.get(model)!.score, DIGITS);
    }
  });

  it('follows the registry again once S3 is back: an alias switched meanwhile is honoured', async () => {
    // Prepare: S3 returns, and `prod` now points at version 2.
    await s3.start();
    await putText(s3, `${MODEL}/aliases.json`, JSON.stringify({ prod: { version: '2' } }));
    await ttlPassed();

    // Act
    const fresh = await predict(freshRuntime(), `${MODEL}@prod`, [text]);
    const bare = await predict(freshRuntime(), MODEL, [text]);
    const warm = await post(api, '/v1/predict', { text, model: `${MODEL}@prod` });

    // Assess
    expect(fresh.model).toMatchObject({ version: '2', alias: 'prod' });
    expect(bare.model.version).toBe('2');
    expect(warm.status).toBe(200);
    expect((warm.body as unknown as Answer).model.version).toBe('2');
    expect((warm.body as unknown as Answer).score).toBeCloseTo(before.get(`${MODEL}@2`)!.score, DIGITS);
  });
});
