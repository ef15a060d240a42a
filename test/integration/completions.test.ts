import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { configureTransformers } from '#runtime/onnx.ts';
import { loadGenerator } from '#tasks/generation/index.ts';
import { recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

const FIXTURE = 'test/fixtures/models/tiny-gpt2/1';

let api: LocalStack;
let client: OpenAI;
beforeAll(async () => {
  api = await startTestApi();
  // The official client, unchanged: baseURL and the API key, which it sends as `Authorization: Bearer`.
  client = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: TEST_KEY, maxRetries: 0 });
});
afterAll(async () => api?.close());

describe('completions with the official openai client', () => {
  it('lists models and gets one', async () => {
    const list = await client.models.list();
    const one = await client.models.retrieve('tiny-gpt2');

    expect(list.data.map((m) => m.id)).toContain('tiny-gpt2');
    expect(one).toMatchObject({ id: 'tiny-gpt2', object: 'model' });
  });

  it('gets a completion whose usage matches the tokenizer and whose record is logged', async () => {
    configureTransformers('.data/models');
    const gen = await loadGenerator(FIXTURE);

    const out = await client.completions.create({
      model: 'tiny-gpt2',
      prompt: 'Hello, my name is',
      max_tokens: 6,
      temperature: 0,
    });

    expect(out.object).toBe('text_completion');
    expect(out.choices).toHaveLength(1);
    expect(out.choices[0]!.finish_reason).toMatch(/^(stop|length)$/);
    expect(out.usage?.prompt_tokens).toBe(gen.countTokens('Hello, my name is'));
    expect(out.usage?.total_tokens).toBe((out.usage?.prompt_tokens ?? 0) + (out.usage?.completion_tokens ?? 0));
    const greedy = await gen.generate('Hello, my name is', { maxTokens: 6, temperature: 0 });
    expect(out.choices[0]!.text).toBe(greedy.choices[0]!.text);
    expect(out.usage?.completion_tokens).toBe(greedy.completionTokens);
  });

  it('gets a chat completion and the same seed gives the same sampled text', async () => {
    const ask = () =>
      client.chat.completions.create({
        model: 'tiny-gpt2',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is the capital of France?' },
        ],
        max_tokens: 8,
        temperature: 1,
        seed: 42,
      });

    const [a, b] = [await ask(), await ask()];

    expect(a.object).toBe('chat.completion');
    expect(a.choices[0]!.message.role).toBe('assistant');
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
  });

  it('streams a completion and a chat, with usage at the end', async () => {
    const completion = await client.completions.create({
      model: 'tiny-gpt2',
      prompt: 'The file',
      max_tokens: 5,
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const chunk of completion) text += chunk.choices[0]?.text ?? '';
    const direct = await client.completions.create({
      model: 'tiny-gpt2',
      prompt: 'The file',
      max_tokens: 5,
      temperature: 0,
    });

    const chat = await client.chat.completions.create({
      model: 'tiny-gpt2',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 5,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of chat) chunks.push(chunk);

    expect(text).toBe(direct.choices[0]!.text);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage?.completion_tokens).toBe(5);
  });

  it('delivers the first streamed chunk before generation finishes', async () => {
    const res = await fetch(`${api.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY },
      body: JSON.stringify({ model: 'tiny-gpt2', prompt: 'Hello', max_tokens: 200, temperature: 0, stream: true }),
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // Generation of 200 tokens is still running: its record is not written yet.
    const requestId = res.headers.get('x-request-id')!;
    const before = await recordsOf(api, requestId, { atLeast: 0 });
    for (;;) if ((await reader.read()).done) break;
    const after = await recordsOf(api, requestId);

    expect(first.startsWith('data: {')).toBe(true);
    expect(before).toHaveLength(0);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ capability: 'completions', model: 'tiny-gpt2', version: '1' });
  });

  it('ends at a stop sequence without returning it', async () => {
    const full = await client.completions.create({
      model: 'tiny-gpt2',
      prompt: 'Hello, my name is',
      max_tokens: 12,
      temperature: 0,
    });
    const text = full.choices[0]!.text;
    const stop = text.slice(4, 7);

    const stopped = await client.completions.create({
      model: 'tiny-gpt2',
      prompt: 'Hello, my name is',
      max_tokens: 12,
      temperature: 0,
      stop,
    });

    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    expect(stopped.choices[0]!.text).toBe(text.slice(0, text.indexOf(stop)));
  });
});

describe('keys as the openai client sends them', () => {
  const clientWith = (apiKey: string) => new OpenAI({ baseURL: `${api.url}/v1`, apiKey, maxRetries: 0 });

  it('sends nothing but Authorization: Bearer, and a wrong key is a PermissionDeniedError in OpenAI shape', async () => {
    const error = await clientWith('not-a-key')
      .chat.completions.create({ model: 'tiny-gpt2', messages: [{ role: 'user', content: 'x' }], max_tokens: 2 })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as InstanceType<typeof OpenAI.PermissionDeniedError>).status).toBe(403);
    expect((error as InstanceType<typeof OpenAI.PermissionDeniedError>).error).toEqual({
      message: expect.stringMatching(/Bearer/),
      type: 'permission_error',
      param: null,
      code: 'forbidden',
    });
  });

  it('a missing key is an AuthenticationError (401) in OpenAI shape, for the list and for a stream', async () => {
    const bare = new OpenAI({
      baseURL: `${api.url}/v1`,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    const list = await bare.models.list().catch((e: unknown) => e);
    const stream = await bare.completions
      .create({ model: 'tiny-gpt2', prompt: 'x', max_tokens: 2, stream: true })
      .catch((e: unknown) => e);

    for (const error of [list, stream]) {
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.AuthenticationError>).error).toMatchObject({
        type: 'authentication_error',
        code: 'unauthorized',
      });
    }
  });

  it('x-api-key callers keep working', async () => {
    const res = await fetch(`${api.url}/v1/models`, { headers: { 'x-api-key': TEST_KEY } });

    expect(res.status).toBe(200);
  });
});

describe('completions reject bad input in OpenAI shape', () => {
  const bad: Array<[string, Record<string, unknown>, number, string | null]> = [
    ['unknown model', { model: 'nope', messages: [{ role: 'user', content: 'x' }] }, 404, 'model'],
    ['empty messages', { model: 'tiny-gpt2', messages: [] }, 400, 'messages'],
    ['wrong role', { model: 'tiny-gpt2', messages: [{ role: 'robot', content: 'x' }] }, 400, 'messages[0].role'],
    [
      'max_tokens over the cap',
      { model: 'tiny-gpt2', messages: [{ role: 'user', content: 'x' }], max_tokens: 100000 },
      400,
      'max_tokens',
    ],
    [
      'temperature out of range',
      { model: 'tiny-gpt2', messages: [{ role: 'user', content: 'x' }], temperature: 3 },
      400,
      'temperature',
    ],
    ['n over the cap', { model: 'tiny-gpt2', messages: [{ role: 'user', content: 'x' }], n: 99 }, 400, 'n'],
  ];

  it.each(bad)('%s', async (_name, body, status, param) => {
    const res = await fetch(`${api.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };

    expect(res.status).toBe(status);
    expect(json.error.type).toBe(status === 404 ? 'not_found_error' : 'invalid_request_error');
    expect(json.error.param).toBe(param);
    expect(json.error.message.length).toBeGreaterThan(10);
  });
});
