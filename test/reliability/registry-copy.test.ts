import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { createModelRuntime } from '#storage/model-runtime.ts';
import { predict } from '#tasks/classification/predict.ts';
import { tempDir } from '../helpers/bundles.ts';
import { post, startTestApi } from '../helpers/local-api.ts';
import { putTree, startTestS3, type TestS3 } from '../helpers/s3.ts';

const MODEL = 'tiny-distilbert-sentiment';
const FIXTURE = path.resolve('test/fixtures/models', MODEL);

let s3: TestS3;
let api: LocalStack;
let text: string;
beforeAll(async () => {
  s3 = await startTestS3(await tempDir('registry-copy-s3'));
  await putTree(s3, FIXTURE, MODEL);
  api = await startTestApi(s3.env);
  text = (
    JSON.parse(await readFile(path.join(FIXTURE, '1', 'golden.json'), 'utf8')) as { cases: Array<{ text: string }> }
  ).cases[0]!.text;
});
afterAll(async () => {
  await api?.close();
  await s3?.close();
});

describe('a new container on the cache folder another one just used (REGISTRY_COPY_FRESH_MS)', () => {
  it('resolves and loads the model without an S3 request', async () => {
    // Prepare: a warm container read the registry (aliases, listing, manifest) and the bundle.
    const warm = await post(api, '/v1/predict', { text, model: `${MODEL}@prod` });
    expect(warm.status).toBe(200);
    const before = s3.requests.length;

    // Act: a new container (a fresh runtime on the same cache folder, as on EFS).
    const out = await predict(createModelRuntime(api.config), `${MODEL}@prod`, [text]);

    // Assess: the same answer, and S3 was not asked anything.
    expect(out.model).toMatchObject((warm.body as { model: object }).model);
    expect(s3.requests.slice(before)).toEqual([]);
  });
});
