import { InferenceClient } from '@huggingface/inference';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { configureTransformers } from '#runtime/onnx.ts';
import { loadGenerator } from '#tasks/generation/index.ts';
import { get, post, recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

const GPT2 = 'test/fixtures/models/tiny-gpt2/1';
/** How long a model's shared state may take to land after the answer that loaded it. */
const STATE_TIMEOUT_MS = 5_000;

let api: LocalStack;
/** Hugging Face's client as a user of Inference Endpoints runs it: the key (Bearer) and one URL per model. */
const endpoint = (model: string) => new InferenceClient(TEST_KEY).endpoint(`${api.url}/models/${model}`);

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

/** The request id of the last answer, read from the emulator's response through a wrapped fetch. */
const withRequestId = async <T>(call: (fetch: typeof globalThis.fetch) => Promise<T>) => {
  let requestId = '';
  const out = await call(async (input, init) => {
    const res = await fetch(input, init);
    requestId = res.headers.get('x-request-id') ?? '';
    return res;
  });
  return { out, requestId };
};

describe('@huggingface/inference through /models/{model}', () => {
  it('classifies with every label, highest first, and logs a predict record', async () => {
    const { out, requestId } = await withRequestId((fetch) =>
      endpoint('tiny-distilbert-sentiment').textClassification({ inputs: 'I love this product' }, { fetch }),
    );

    expect(out.length).toBeGreaterThanOrEqual(2);
    expect(out.map((o) => o.score)).toEqual([...out.map((o) => o.score)].sort((a, b) => b - a));
    expect(out.reduce((s, o) => s + o.score, 0)).toBeCloseTo(1, 5);
    const records = await recordsOf(api, requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ capability: 'predict', model: 'tiny-distilbert-sentiment' });
  });

  it('identifies languages as text-classification over language labels', async () => {
    const out = await endpoint('lid176').textClassification({
      inputs: 'Bonjour tout le monde, comment allez-vous aujourd’hui ?',
      parameters: { top_k: 3 },
    });

    expect(out).toHaveLength(3);
    expect(out[0]!.label).toBe('fr');
  });

  it('translates with src_lang and tgt_lang', async () => {
    const { out, requestId } = await withRequestId((fetch) =>
      endpoint('tiny-nllb').translation(
        { inputs: 'Hello, world.', parameters: { src_lang: 'en', tgt_lang: 'fr' } as never },
        { fetch },
      ),
    );

    expect(typeof (out as { translation_text: string }).translation_text).toBe('string');
    expect(await recordsOf(api, requestId)).toEqual([expect.objectContaining({ capability: 'translate' })]);
  });
});

describe('@huggingface/inference on a generator', () => {
  it('textGeneration goes to /models/{model}/v1/completions and matches greedy /generate', async () => {
    const out = await endpoint('tiny-gpt2').textGeneration({
      inputs: 'Hello, my name is',
      parameters: { max_new_tokens: 6, temperature: 0 },
    });
    const tgi = await post(api, '/models/tiny-gpt2/generate', {
      inputs: 'Hello, my name is',
      parameters: { max_new_tokens: 6 },
    });

    expect(out.generated_text.length).toBeGreaterThan(0);
    expect(tgi.status).toBe(200);
    expect(tgi.body.generated_text).toBe(out.generated_text);
  });

  it('chatCompletion and chatCompletionStream give the same greedy text', async () => {
    const messages = [{ role: 'user', content: 'Say hello.' }];
    const out = await endpoint('tiny-gpt2').chatCompletion({ messages, max_tokens: 6, temperature: 0 });
    let streamed = '';
    for await (const chunk of endpoint('tiny-gpt2').chatCompletionStream({ messages, max_tokens: 6, temperature: 0 })) {
      streamed += chunk.choices[0]?.delta.content ?? '';
    }

    expect(out.choices[0]!.message.content).toBe(streamed);
    expect(out.model).toBe('tiny-gpt2@1');
  });

  it('refuses a generator at the classifier URL with a 400 saying where to go', async () => {
    const res = await post(api, '/models/tiny-gpt2', { inputs: 'Hello' });

    expect(res.status).toBe(400);
    expect(String(res.body.error?.message)).toContain('/models/tiny-gpt2/generate');
  });
});

describe('POST /models/{model}/generate', () => {
  it('takes seed 001’s {text, max_length} with max_length counting the prompt', async () => {
    const prompt = 'Hello, my name is';
    configureTransformers('.data/models');
    const promptTokens = (await loadGenerator(GPT2)).countTokens(prompt);
    const tgi = await post(api, '/models/tiny-gpt2/generate', { inputs: prompt, parameters: { max_new_tokens: 3 } });
    const seed = await post(api, '/models/tiny-gpt2/generate', { text: prompt, max_length: promptTokens + 3 });
    const short = await post(api, '/models/tiny-gpt2/generate', { text: prompt, max_length: promptTokens });

    expect(seed.status).toBe(200);
    expect(seed.body.generated_text).toBe(prompt + String(tgi.body.generated_text));
    expect(short.status).toBe(400);
    expect(short.body.error).toMatchObject({ message: expect.stringContaining(`at least ${promptTokens + 1}`) });
  });

  it('reproduces a sampled text with the same seed', async () => {
    const body = { inputs: 'Once upon a time', parameters: { max_new_tokens: 8, do_sample: true, seed: 11 } };
    const [a, b] = [
      await post(api, '/models/tiny-gpt2/generate', body),
      await post(api, '/models/tiny-gpt2/generate', body),
    ];

    expect(a.body.generated_text).toBe(b.body.generated_text);
  });

  it('streams TGI token events, the last with generated_text and details, no [DONE]', async () => {
    const res = await fetch(`${api.url}/models/tiny-gpt2/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_KEY}` },
      body: JSON.stringify({ inputs: 'Hello, my name is', parameters: { max_new_tokens: 4 }, stream: true }),
    });
    const text = await res.text();
    const events = text
      .split('\n\n')
      .filter(Boolean)
      .map((e) => e.replace(/^data: /, ''));
    const parsed = events.map((e) => JSON.parse(e) as Record<string, unknown>);
    const direct = await post(api, '/models/tiny-gpt2/generate', {
      inputs: 'Hello, my name is',
      parameters: { max_new_tokens: 4 },
    });

    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(events).not.toContain('[DONE]');
    expect(parsed[0]).toMatchObject({ index: 1, token: { special: false }, generated_text: null, details: null });
    expect(parsed.at(-1)).toMatchObject({
      generated_text: direct.body.generated_text,
      details: { finish_reason: 'length', generated_tokens: 4 },
    });
    expect(parsed.map((e) => (e.token as { text: string }).text).join('')).toBe(direct.body.generated_text);
  });

  it('answers bad bodies with a 400 naming the field', async () => {
    const both = await post(api, '/models/tiny-gpt2/generate', { text: 'a', inputs: 'b' });
    const temp = await post(api, '/models/tiny-gpt2/generate', { inputs: 'a', parameters: { temperature: 0 } });

    expect(both.status).toBe(400);
    expect(JSON.stringify(both.body)).toContain('inputs');
    expect(temp.status).toBe(400);
    expect(JSON.stringify(temp.body)).toContain('parameters.temperature');
  });
});

describe('model ids in the path', () => {
  it('answers a malformed id with 400 and an unknown one with 404, on every per-model route', async () => {
    for (const path of ['/models/NOT..VALID', '/models/NOT..VALID/generate']) {
      const res = await post(api, path, { inputs: 'x' });
      expect(res.status, path).toBe(400);
    }
    for (const path of ['/models/no-such-model', '/models/no-such-model/generate']) {
      const res = await post(api, path, { inputs: 'x' });
      expect(res.status, path).toBe(404);
    }
    expect((await get(api, '/models/no-such-model/status')).status).toBe(404);
    expect((await get(api, '/models/NOT..VALID/status')).status).toBe(400);
  });
});

describe('GET /v1/models: every task', () => {
  it('lists every served model with task, versions, aliases and loaded, and the openai client still parses it', async () => {
    const client = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: TEST_KEY, maxRetries: 0 });
    const list = await client.models.list();
    const byId = Object.fromEntries(list.data.map((m) => [m.id, m as unknown as Record<string, unknown>]));
    const translators = await get(api, '/v1/models?task=translation');
    const one = await client.models.retrieve('lid176');
    const bad = await get(api, '/v1/models?task=poetry');

    expect(byId['tiny-gpt2']).toMatchObject({ object: 'model', task: 'text-generation', versions: ['1'] });
    expect(byId.lid176).toMatchObject({ task: 'language-identification' });
    expect(byId['tiny-nllb']).toMatchObject({ task: 'translation' });
    expect(byId['tiny-distilbert-sentiment']).toMatchObject({
      task: 'text-classification',
      versions: ['1', '2'],
      aliases: expect.objectContaining({ prod: expect.any(String) }),
      loaded: expect.any(Boolean),
    });
    expect((translators.body.data as Array<{ id: string }>).map((m) => m.id)).toEqual(['tiny-nllb']);
    expect(one).toMatchObject({ id: 'lid176', task: 'language-identification' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('task');
  });

  it('says loaded once a model has served a request', async () => {
    await endpoint('lid176').textClassification({ inputs: 'Guten Morgen zusammen' });
    const one = await get(api, '/v1/models/lid176');

    expect(one.body.loaded).toBe(true);
  });
});

/**
 * Status across functions, with each function in processes of its own (as in Lambda, where a
 * function knows only its own models): what one function loaded, another reports.
 */
describe('status shared across function instances', () => {
  let separate: LocalStack;
  beforeAll(async () => {
    separate = await startTestApi({}, { LOCAL_FUNCTION_CONCURRENCY: '1' });
  });
  afterAll(async () => separate?.close());

  describe('GET /models/{model}/status', () => {
    it('says available before any load, and loaded once another function loaded it (shared through the table)', async () => {
      const before = await get(separate, '/models/tiny-distilbert-sentiment@2/status');
      // The predict function loads version 2; the models function answers the status.
      const predicted = await post(separate, '/v1/predict', { text: 'fine', model: 'tiny-distilbert-sentiment@2' });
      const status = async () => (await get(separate, '/models/tiny-distilbert-sentiment@2/status')).body;
      await expect.poll(async () => (await status()).status, { timeout: STATE_TIMEOUT_MS }).toBe('loaded');
      const after = { body: await status() };

      expect(before.body).toMatchObject({
        model: 'tiny-distilbert-sentiment',
        status: 'available',
        task: 'text-classification',
        version: '2',
        instances: 0,
      });
      expect(predicted.status).toBe(200);
      expect(after.body).toMatchObject({ status: 'loaded', version: '2', instances: 1 });
      expect(after.body.loadMs).toBeGreaterThan(0);
      expect(after.body.memoryBytes).toBeGreaterThan(0);
    });
  });

  describe('GET /v1/status: every function', () => {
    it('reports the models other functions hold, not only predict’s', async () => {
      expect((await post(separate, '/v1/detect', { text: 'Buenos días a todos' })).status).toBe(200);
      type Functions = Record<string, { instances: number; models: Array<{ model: string }> }>;
      const functions = async () => (await get(separate, '/v1/status')).body.functions as Functions;

      // The detect function shares its load off the response path: the item lands just after the answer.
      await expect
        .poll(async () => (await functions()).detect?.models.map((m) => m.model), { timeout: STATE_TIMEOUT_MS })
        .toContain('lid176@1');
      const all = await functions();
      expect(Object.keys(all).sort()).toEqual(['completions', 'detect', 'models', 'predict', 'translate']);
      expect(all.detect!.instances).toBeGreaterThanOrEqual(1);
      expect(all.predict!.models.map((m) => m.model)).toContain('tiny-distilbert-sentiment@2');
      expect(all.translate).toEqual({ instances: 0, models: [] });
    });
  });
});
