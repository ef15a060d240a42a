import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

/**
 * A function timeout short enough that a large generation cannot finish in it: the
 * answer must still be a 200 whose choices end with `finish_reason: "length"`, sent
 * before Middy's early-timeout 504 (at TIMEOUT_MS - MARGIN_MS).
 */
const TIMEOUT_MS = 3_000;
const MARGIN_MS = 1_000;
const PROMPTS = 64;
const CHOICES = 16;
const MAX_TOKENS = 250;
/** 64 prompts × 250 greedy steps of 16 rows: many times longer than the generation window on any machine. */
const REQUEST = {
  model: 'tiny-gpt2',
  prompt: Array(PROMPTS).fill('Hello'),
  n: CHOICES,
  max_tokens: MAX_TOKENS,
  temperature: 0,
};
const WARM_UP_ATTEMPTS = 5;

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi(
    { DEADLINE_MARGIN_MS: String(MARGIN_MS), MAX_PROMPTS: String(PROMPTS), MAX_CHOICES: String(CHOICES) },
    { LOCAL_TIMEOUT_MS: String(TIMEOUT_MS) },
  );
  // Load the model first: its first load counts against a request's deadline too.
  for (let i = 0; i < WARM_UP_ATTEMPTS; i++) {
    const warm = await post(api, '/v1/completions', { model: 'tiny-gpt2', prompt: 'Hi', max_tokens: 1 });
    if (warm.status === 200) break;
  }
});
afterAll(async () => api?.close());

describe('generation past the function deadline', () => {
  it('answers 200 with finish_reason "length" on every choice, not a 504', async () => {
    const res = await post(api, '/v1/completions', REQUEST);

    expect(res.status).toBe(200);
    const choices = res.body.choices as Array<{ index: number; finish_reason: string }>;
    const usage = res.body.usage as { completion_tokens: number };
    expect(choices).toHaveLength(PROMPTS * CHOICES);
    expect(new Set(choices.map((c) => c.finish_reason))).toEqual(new Set(['length']));
    // Stopped by the deadline, not by max_tokens.
    expect(usage.completion_tokens).toBeLessThan(PROMPTS * CHOICES * MAX_TOKENS);
  });

  it('ends a stream the same way: every choice finished with "length", usage, then [DONE]', async () => {
    const res = await fetch(`${api.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY },
      body: JSON.stringify({ ...REQUEST, stream: true, stream_options: { include_usage: true } }),
    });
    const text = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = text.trimEnd().split('\n\n');
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return JSON.parse(e.slice(6)) as {
        error?: unknown;
        choices: Array<{ index: number; finish_reason: string | null }>;
        usage?: { completion_tokens: number } | null;
      };
    });
    expect(chunks.filter((c) => c.error)).toEqual([]);
    const finished = new Map<number, string>();
    for (const c of chunks) for (const ch of c.choices) if (ch.finish_reason) finished.set(ch.index, ch.finish_reason);
    expect(finished.size).toBe(PROMPTS * CHOICES);
    expect(new Set(finished.values())).toEqual(new Set(['length']));
    const usage = chunks.at(-1)?.usage;
    expect(usage?.completion_tokens).toBeLessThan(PROMPTS * CHOICES * MAX_TOKENS);
  });
});
