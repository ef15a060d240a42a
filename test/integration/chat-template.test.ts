import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { runImport } from '#packaging/commands/pull.ts';
import { tempDir } from '../helpers/bundles.ts';
import { post, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

const FIXTURE = 'test/fixtures/models/tiny-gpt2/1';

/**
 * A template-less generator (a copy of tiny-gpt2 whose tokenizer lost its chat template, in
 * this test's temp dir) imported twice: as is, and with `--chat-template chatml`.
 */
let api: LocalStack;
let registry: string;
const out: string[] = [];
const deps = {
  io: { out: (l: string) => out.push(l), err: (l: string) => out.push(l), isTTY: false },
  env: {},
  retryBaseMs: 1,
};

beforeAll(async () => {
  const source = await tempDir('plain-gpt2');
  registry = await tempDir('chat-registry');
  await cp(FIXTURE, source, { recursive: true });
  const config = path.join(source, 'tokenizer_config.json');
  const { chat_template: _dropped, ...rest } = JSON.parse(await readFile(config, 'utf8')) as Record<string, unknown>;
  await writeFile(config, JSON.stringify(rest));
  const common = [source, '--task', 'text-generation', '--version', '1', '--out', registry];
  expect(await runImport([...common, '--name', 'plain-gpt2'], deps)).toBe(0);
  expect(await runImport([...common, '--name', 'chatml-gpt2', '--chat-template', 'chatml'], deps)).toBe(0);
  api = await startTestApi({ MODELS_DIR: registry, DEFAULT_COMPLETIONS_MODEL: 'chatml-gpt2' });
});
afterAll(async () => api?.close());

describe('chat on a model without a chat template', () => {
  it('answers 400 saying how to fix it, on the OpenAI route and the per-model route', async () => {
    const messages = [{ role: 'user', content: 'Hello' }];
    const openai = await post(api, '/v1/chat/completions', { model: 'plain-gpt2', messages, max_tokens: 4 });
    const endpoint = await post(api, '/models/plain-gpt2/v1/chat/completions', { messages, max_tokens: 4 });
    const streamed = await post(api, '/v1/chat/completions', { model: 'plain-gpt2', messages, stream: true });

    for (const res of [openai, endpoint, streamed]) {
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ param: 'messages', type: 'invalid_request_error' });
      expect(String(res.body.error?.message)).toContain('--chat-template chatml|llama-3|zephyr');
    }
  });

  it('chats once imported with --chat-template chatml, which the bundle’s tokenizer now holds', async () => {
    const client = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: TEST_KEY, maxRetries: 0 });
    const chat = await client.chat.completions.create({
      model: 'chatml-gpt2',
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 4,
      temperature: 0,
    });
    const saved = JSON.parse(await readFile(path.join(registry, 'chatml-gpt2/1/tokenizer_config.json'), 'utf8'));

    expect(chat.choices[0]!.message.role).toBe('assistant');
    expect(chat.usage?.completion_tokens).toBe(4);
    expect(saved.chat_template).toContain('<|im_start|>');
  });

  it('refuses --chat-template for another task and an unknown preset, saying what is allowed', async () => {
    const source = await tempDir('any');
    const bad = (extra: string[]) =>
      runImport([source, '--name', 'x', '--version', '1', '--out', registry, ...extra], deps).catch(
        (e: Error) => e.message,
      );

    expect(await bad(['--task', 'translation', '--chat-template', 'chatml'])).toMatch(/for text-generation models/);
    expect(await bad(['--task', 'text-generation', '--chat-template', 'vicuna'])).toMatch(/chatml.*llama-3.*zephyr/);
  });
});
