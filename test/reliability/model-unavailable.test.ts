import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { tempDir } from '../helpers/bundles.ts';
import { post, startTestApi } from '../helpers/local-api.ts';
import { putTree, startTestS3, type TestS3 } from '../helpers/s3.ts';

const FIXTURES = path.resolve('test/fixtures/models');
const MODELS = ['tiny-distilbert-sentiment', 'lid176', 'tiny-nllb', 'tiny-gpt2'];
/** The graphs are what is withheld: every manifest resolves, no model can load. */
const isGraph = (rel: string) => rel.includes('/onnx/');
/** What a stack trace or an internal detail looks like in a body. */
const INTERNALS = /\n\s+at |\.ts:\d+|node_modules|ECONNREFUSED|NoSuchKey|127\.0\.0\.1/;

/** One request per capability and route shape; OpenAI's routes answer in OpenAI's error shape. */
const REQUESTS = [
  { capability: 'predict', path: '/v1/predict', body: { text: 'I love it' }, shape: 'default' },
  { capability: 'predict', path: '/v1/predict/batch', body: { texts: ['a', 'b'] }, shape: 'default' },
  { capability: 'detect', path: '/v1/detect', body: { text: 'Habari ya asubuhi' }, shape: 'default' },
  { capability: 'detect', path: '/detect', body: { q: 'Habari ya asubuhi' }, shape: 'libretranslate' },
  {
    capability: 'translate',
    path: '/v1/translate',
    body: { text: 'Hello', source_language: 'eng_Latn', target_language: 'fra_Latn' },
    shape: 'default',
  },
  {
    capability: 'translate',
    path: '/translate',
    body: { q: 'Hello', source: 'en', target: 'fr' },
    shape: 'libretranslate',
  },
  {
    capability: 'completions',
    path: '/v1/completions',
    body: { model: 'tiny-gpt2', prompt: 'Hi', max_tokens: 2 },
    shape: 'openai',
  },
  {
    capability: 'completions',
    path: '/v1/chat/completions',
    body: { model: 'tiny-gpt2', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 },
    shape: 'openai',
  },
  {
    capability: 'completions',
    path: '/v1/chat/completions',
    body: { model: 'tiny-gpt2', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, stream: true },
    shape: 'openai',
  },
] as const;

let s3: TestS3;
let api: LocalStack;
beforeAll(async () => {
  s3 = await startTestS3(await tempDir('unavailable-s3'));
  for (const name of MODELS) await putTree(s3, path.join(FIXTURES, name), name, (rel) => !isGraph(rel));
  api = await startTestApi(s3.env);
});
afterAll(async () => {
  await api?.close();
  await s3?.close();
});

const expectUnavailable = async (r: (typeof REQUESTS)[number]) => {
  const res = await post(api, r.path, r.body);
  const where = `${r.path} ${JSON.stringify(r.body)}`;
  expect(res.status, where).toBe(503);
  expect(Number(res.headers.get('retry-after')), where).toBeGreaterThan(0);
  expect(res.headers.get('content-type'), where).toContain('application/json');
  if (r.shape === 'openai') {
    expect(res.body.error, where).toEqual({
      message: expect.any(String),
      type: 'server_error',
      param: null,
      code: 'model_unavailable',
    });
  } else if (r.shape === 'libretranslate') {
    expect(res.body, where).toEqual({ error: expect.stringContaining(res.headers.get('x-request-id')!) });
  } else {
    expect(res.body.error, where).toEqual({
      code: 'model_unavailable',
      message: expect.stringContaining(res.headers.get('x-request-id')!),
      requestId: res.headers.get('x-request-id'),
    });
  }
  expect(JSON.stringify(res.body), where).not.toMatch(INTERNALS);
};

// In order: the registry unreachable with nothing saved, then reachable with the graphs
// missing, then the graphs published: each failure must leave nothing behind that outlives it.
describe('a model that cannot load', () => {
  it('answers 503 with Retry-After on every capability while S3 is unreachable and nothing is cached', async () => {
    await s3.stop();
    try {
      for (const r of REQUESTS) await expectUnavailable(r);
    } finally {
      await s3.start();
    }
  });

  it('answers 503 with Retry-After on every capability when its files cannot be fetched', async () => {
    for (const r of REQUESTS) await expectUnavailable(r);
  });

  it('serves every capability once the cause is fixed', async () => {
    for (const name of MODELS) await putTree(s3, path.join(FIXTURES, name), name, isGraph);

    for (const r of REQUESTS) {
      const res = await fetch(`${api.url}${r.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'test-key' },
        body: JSON.stringify(r.body),
      });
      expect(res.status, r.path).toBe(200);
      await res.text();
    }
  });
});
