import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { makeS3Client } from '#storage/s3-object-store.ts';
import { type HubStandIn, startHubStandIn } from '../helpers/hub-stand-in.ts';
import { get, post, scanTable, startTestApi } from '../helpers/local-api.ts';
import { BUCKET, PREFIX, putTree, startTestS3, type TestS3 } from '../helpers/s3.ts';

/**
 * Any Hub model on demand (docs/hub-import.md), end to end on the local API over HTTP: the
 * completions function queues the job, the emulator's stand-in of the table's stream runs
 * the import function against the Hub stand-in, which publishes into the s3rver registry.
 */
const GPT2 = path.resolve('test/fixtures/models/tiny-gpt2/1');
const SENTIMENT = path.resolve('test/fixtures/models/tiny-distilbert-sentiment/1');
const NLLB = path.resolve('test/fixtures/models/tiny-nllb/1');
const SHA = 'c'.repeat(40);
const E2E_TIMEOUT_MS = 120_000;
const IMPORT_WAIT_MS = 60_000;
const POLL_MS = 100;
const CHAT = { messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 6, temperature: 0 };

describe('Hub models imported on demand', () => {
  let hub: HubStandIn;
  let s3: TestS3;
  let api: LocalStack;
  let work: string;

  /** Polls a status URL until the job ends (done or failed). */
  const untilEnded = async (statusUrl: string): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + IMPORT_WAIT_MS;
    for (;;) {
      const { body } = await get(api, statusUrl);
      if (body.status === 'done' || body.status === 'failed' || Date.now() > deadline) return body;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  const publishedKeys = async (name: string): Promise<string[]> => {
    const client = makeS3Client({ region: 'us-east-1', endpoint: s3.url });
    const out = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/${name}/` }));
    client.destroy();
    return (out.Contents ?? []).map((o) => o.Key ?? '');
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'hub-import-e2e-'));
    hub = await startHubStandIn({
      'acme/tiny-gpt2': { dir: GPT2, sha: SHA, pipelineTag: 'text-generation' },
      'acme/tiny-sentiment': { dir: SENTIMENT, sha: SHA, pipelineTag: 'text-classification' },
      'acme/tiny-nllb': { dir: NLLB, sha: SHA, pipelineTag: 'translation' },
      // The Hub lists another sha256 for the graph than the bytes it serves.
      'acme/corrupt-gpt2': { dir: GPT2, sha: SHA, listedSha256: { 'onnx/model.onnx': 'f'.repeat(64) } },
      // A graph that is not ONNX at all, consistently listed: only validation can catch it.
      'acme/broken-gpt2': { dir: GPT2, sha: SHA, replace: { 'onnx/model.onnx': Buffer.from('not an onnx graph') } },
    });
    s3 = await startTestS3(path.join(work, 's3'));
    // The registry also holds the fixture itself: the imported copy must answer exactly as it does.
    await putTree(s3, path.resolve('test/fixtures/models/tiny-gpt2'), 'tiny-gpt2');
    await putTree(s3, path.resolve('test/fixtures/models/tiny-distilbert-sentiment'), 'tiny-distilbert-sentiment');
    await putTree(s3, path.resolve('test/fixtures/models/tiny-nllb'), 'tiny-nllb');
    api = await startTestApi({
      ...s3.env,
      HUB_IMPORT_ALLOW: 'acme/*, other/allowed-*',
      HF_ENDPOINT: hub.url,
      HUB_IMPORT_RETRY_AFTER_SECONDS: '1',
      // The concurrent requests come from one key: let them through to the job.
      HEAVY_IN_FLIGHT_PER_KEY: '8',
    });
  }, E2E_TIMEOUT_MS);
  afterAll(async () => {
    await api?.close();
    await s3?.close();
    await hub?.close();
    await rm(work, { recursive: true, force: true });
  });

  it(
    'queues one job for concurrent requests, answers 202, imports, then serves the model with real inference',
    async () => {
      // Act: three requests at once name a model the registry does not hold.
      const first = await Promise.all(
        [1, 2, 3].map(() => post(api, '/v1/chat/completions', { ...CHAT, model: 'acme/tiny-gpt2' })),
      );

      // Assess: each is a 202 with the same job, Retry-After and Location; the table holds one job.
      for (const r of first) {
        expect(r.status).toBe(202);
        expect(r.body).toMatchObject({ id: 'acme/tiny-gpt2@main', status: expect.stringMatching(/queued|importing/) });
        expect(r.headers.get('retry-after')).toBe('1');
        expect(r.headers.get('location')).toBe('/v1/imports/acme/tiny-gpt2');
      }
      const jobs = await scanTable(api, api.config.IMPORTS_TABLE);
      expect(jobs.filter((j) => j.id === 'acme/tiny-gpt2@main')).toHaveLength(1);
      expect(jobs.find((j) => j.id === 'acme/tiny-gpt2@main')?.attempts).toBe(1);

      // Act: poll the status URL until the import ends.
      const ended = await untilEnded('/v1/imports/acme/tiny-gpt2');

      // Assess: done, pinned to the Hub commit, published under org--name@<sha12>.
      expect(ended).toMatchObject({ status: 'done', model: `acme--tiny-gpt2@${SHA.slice(0, 12)}`, commit: SHA });
      const keys = await publishedKeys('acme--tiny-gpt2');
      expect(keys).toContain(`${PREFIX}/acme--tiny-gpt2/${SHA.slice(0, 12)}/manifest.json`);
      expect(keys).toContain(`${PREFIX}/acme--tiny-gpt2/${SHA.slice(0, 12)}/onnx/model.onnx`);

      // Act: the same request again, and the same request to the fixture the Hub served.
      const imported = await post(api, '/v1/chat/completions', { ...CHAT, model: 'acme/tiny-gpt2' });
      const fixture = await post(api, '/v1/chat/completions', { ...CHAT, model: 'tiny-gpt2' });

      // Assess: served by the imported model, greedy output identical to the fixture's.
      expect(imported.status).toBe(200);
      expect(imported.body.model).toBe(`acme--tiny-gpt2@${SHA.slice(0, 12)}`);
      const text = (b: Record<string, unknown>) =>
        (b.choices as { message: { content: string } }[])[0]?.message.content;
      expect(text(imported.body)?.length).toBeGreaterThan(0);
      expect(text(imported.body)).toBe(text(fixture.body));
      // /v1/completions takes the same id without another import.
      const completion = await post(api, '/v1/completions', {
        model: 'acme/tiny-gpt2',
        prompt: 'Hello',
        max_tokens: 4,
        temperature: 0,
      });
      expect(completion.status).toBe(200);
      // The per-model routes take the id in the path, its slash encoded.
      const generated = await post(api, '/models/acme%2Ftiny-gpt2/generate', { text: 'Hello', max_length: 6 });
      expect(generated.status).toBe(200);
      expect(String(generated.body.generated_text)).toMatch(/^Hello/);
      const endpointChat = await post(api, '/models/acme%2Ftiny-gpt2/v1/chat/completions', CHAT);
      expect(endpointChat.body.model).toBe(`acme--tiny-gpt2@${SHA.slice(0, 12)}`);
      expect(text(endpointChat.body)).toBe(text(fixture.body));
      expect(
        (await scanTable(api, api.config.IMPORTS_TABLE)).find((j) => j.id === 'acme/tiny-gpt2@main')?.attempts,
      ).toBe(1);
    },
    E2E_TIMEOUT_MS,
  );

  it.each([
    ['acme/corrupt-gpt2', /sha256/],
    ['acme/broken-gpt2', /not a loadable ONNX graph/],
  ])(
    'a failed import of %s says why, publishes nothing, and later requests get 422 without a new job',
    async (repo, reason) => {
      // Act: the request that queues the import, then the status until it ends.
      const queued = await post(api, '/v1/chat/completions', { ...CHAT, model: repo });
      expect(queued.status).toBe(202);
      const ended = await untilEnded(String(queued.body.statusUrl));

      // Assess: failed with the reason (no scratch paths), nothing in the registry.
      expect(ended.status).toBe('failed');
      expect(String(ended.reason)).toMatch(reason);
      expect(String(ended.reason)).not.toContain(os.tmpdir());
      expect(ended.retryAt).toEqual(expect.any(String));
      expect(await publishedKeys(repo.replace('/', '--'))).toEqual([]);

      // Act: the next request, before the retry delay.
      const again = await post(api, '/v1/chat/completions', { ...CHAT, model: repo });

      // Assess: a 422 in OpenAI's shape naming the reason and when it is retried; still one attempt.
      expect(again.status).toBe(422);
      expect(again.body.error).toMatchObject({ code: 'import_failed', param: 'model' });
      expect(String(again.body.error?.message)).toMatch(reason);
      expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
      const job = (await scanTable(api, api.config.IMPORTS_TABLE)).find((j) => j.id === `${repo}@main`);
      expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'queues an import from the generate route too, with the same status URL',
    async () => {
      const queued = await post(api, `/models/${encodeURIComponent('acme/broken-gpt2@v2')}/generate`, { text: 'Hi' });
      expect(queued.status).toBe(202);
      expect(queued.body).toMatchObject({
        id: 'acme/broken-gpt2@v2',
        statusUrl: '/v1/imports/acme/broken-gpt2?revision=v2',
      });
      expect((await untilEnded(String(queued.body.statusUrl))).status).toBe('failed');
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'imports a classifier named in /v1/predict, then classifies with it as the fixture does',
    async () => {
      const text = 'I love this product, it works perfectly!';
      const queued = await post(api, '/v1/predict', { text, model: 'acme/tiny-sentiment' });
      expect(queued.status).toBe(202);
      expect(queued.body).toMatchObject({ id: 'acme/tiny-sentiment@main', task: 'text-classification' });
      expect(queued.headers.get('location')).toBe('/v1/imports/acme/tiny-sentiment');

      const ended = await untilEnded(String(queued.body.statusUrl));
      expect(ended).toMatchObject({ status: 'done', model: `acme--tiny-sentiment@${SHA.slice(0, 12)}` });

      const imported = await post(api, '/v1/predict', { text, model: 'acme/tiny-sentiment' });
      const fixture = await post(api, '/v1/predict', { text, model: 'tiny-distilbert-sentiment@1' });
      const batch = await post(api, '/v1/predict/batch', { texts: [text, 'Awful.'], model: 'acme/tiny-sentiment' });
      expect(imported.status).toBe(200);
      expect(imported.body.model).toMatchObject({ name: 'acme--tiny-sentiment', version: SHA.slice(0, 12) });
      expect(imported.body.label).toBe(fixture.body.label);
      expect(imported.body.score).toBeCloseTo(Number(fixture.body.score), 5);
      expect(batch.status).toBe(200);
      expect((batch.body.results as unknown[]).length).toBe(2);
      // A Hub id outside the allowlist is refused in the envelope's shape.
      const refused = await post(api, '/v1/predict', { text, model: 'other/classifier' });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'import_not_allowed' });
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'imports a translation model named in /v1/translate, then translates with it as the fixture does',
    async () => {
      const body = { text: 'Hello, how are you?', source_language: 'eng_Latn', target_language: 'fra_Latn' };
      const queued = await post(api, '/v1/translate', { ...body, model: 'acme/tiny-nllb' });
      expect(queued.status).toBe(202);
      expect(queued.body).toMatchObject({ id: 'acme/tiny-nllb@main', task: 'translation' });

      const ended = await untilEnded(String(queued.body.statusUrl));
      expect(ended).toMatchObject({ status: 'done', model: `acme--tiny-nllb@${SHA.slice(0, 12)}` });

      const imported = await post(api, '/v1/translate', { ...body, model: 'acme/tiny-nllb', cache: false });
      const fixture = await post(api, '/v1/translate', { ...body, model: 'tiny-nllb', cache: false });
      expect(imported.status).toBe(200);
      expect(imported.body.model).toEqual({ name: 'acme--tiny-nllb', version: SHA.slice(0, 12) });
      const text = (b: Record<string, unknown>) => (b.translations as { text: string }[])[0]?.text;
      expect(text(imported.body)).toBe(text(fixture.body));
    },
    E2E_TIMEOUT_MS,
  );

  it('refuses ids outside the allowlist (403) and malformed ids (400), queuing nothing', async () => {
    const refused = await post(api, '/v1/chat/completions', { ...CHAT, model: 'other/model' });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'import_not_allowed', param: 'model' });
    expect(String(refused.body.error?.message)).toContain('HUB_IMPORT_ALLOW');

    for (const model of ['acme/bad name', 'acme/a/b', 'acme/-x', 'acme/x@..', `acme/${'x'.repeat(97)}`]) {
      const bad = await post(api, '/v1/chat/completions', { ...CHAT, model });
      expect(bad.status, model).toBe(400);
      expect(bad.body.error).toMatchObject({ param: 'model' });
      expect(String(bad.body.error?.message)).toContain('org/name@revision');
    }
    const ids = (await scanTable(api, api.config.IMPORTS_TABLE)).map((j) => j.id);
    expect(ids.filter((id) => String(id).startsWith('other/') || String(id).includes(' '))).toEqual([]);
  });

  it('answers the status of an import never asked for with 404 saying how to start one', async () => {
    const missing = await get(api, '/v1/imports/acme/never-asked');
    expect(missing.status).toBe(404);
    expect(JSON.stringify(missing.body)).toContain('/v1/chat/completions');
    const bad = await get(api, '/v1/imports/acme/never-asked?revision=..');
    expect(bad.status).toBe(400);
  });

  it('keeps the fixture bundle intact (the import copies, never moves)', async () => {
    expect(JSON.parse(await readFile(path.join(GPT2, 'manifest.json'), 'utf8')).name).toBe('tiny-gpt2');
  });
});
