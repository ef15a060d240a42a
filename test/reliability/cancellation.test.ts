import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

/**
 * Deadlines and cancellation (issue 23.2, 23.5): after a 504 or a client that leaves, the
 * process is back to idle within a decoder step, measured as this process's CPU (the
 * emulator runs the functions in this process), and the records say how the request ended.
 */
const TIMEOUT_MS = 4_000;
const MARGIN_MS = 1_000;
/** Let the abort reach the decoder (one step) and the records be written. */
const SETTLE_MS = 500;
const WINDOW_MS = 1_500;
/** Idle with room for the emulator's and dynalite's own bookkeeping; a decoding loop uses ~all of a core. */
const MAX_IDLE_CPU_SHARE = 0.25;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** This process's CPU over the next `ms`, as a share of one core. */
const cpuShareOver = async (ms: number): Promise<number> => {
  const before = process.cpuUsage();
  const started = performance.now();
  await sleep(ms);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / (performance.now() - started);
};
const eventually = async <T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> => {
  const until = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < until) {
    await sleep(200);
    v = await read();
  }
  return v;
};

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi({ DEADLINE_MARGIN_MS: String(MARGIN_MS) }, { LOCAL_TIMEOUT_MS: String(TIMEOUT_MS) });
  // Load both models first: a first load counts against a request's deadline too.
  await post(api, '/v1/completions', { model: 'tiny-gpt2', prompt: 'Hi', max_tokens: 1 });
  await post(api, '/v1/translate', { text: 'Hello.', source_language: 'en', target_language: 'fr', max_new_tokens: 2 });
}, 120_000);
afterAll(async () => api?.close());

describe('a streamed completion whose client leaves', () => {
  it('stops generating within a step and records client_aborted with the tokens it cost', async () => {
    const client = new AbortController();
    const res = await fetch(`${api.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY },
      body: JSON.stringify({
        model: 'tiny-gpt2',
        prompt: ['Once upon a time', 'Hello'],
        n: 4,
        max_tokens: 240,
        stream: true,
      }),
      signal: client.signal,
    });
    if (res.status !== 200) throw new Error(await res.text());
    const requestId = res.headers.get('x-request-id')!;
    const reader = res.body!.getReader();
    await reader.read();
    client.abort();
    await sleep(SETTLE_MS);

    const share = await cpuShareOver(WINDOW_MS);

    expect(res.status).toBe(200);
    expect(share).toBeLessThan(MAX_IDLE_CPU_SHARE);
    const records = await eventually(
      () => recordsOf(api, requestId),
      (r) => r.length > 0,
    );
    expect(records.map((r) => r.outcome)).toEqual(['client_aborted']);
    const billable = records[0]!.billable as { characters: number; tokens: number };
    expect(billable.characters).toBe('Once upon a time'.length);
    expect(billable.tokens).toBeGreaterThan(0);
    expect(billable.tokens).toBeLessThan(4 * 240);
  });
});

describe('a translation past its deadline', () => {
  it('answers 504, is idle within a step after it, and records every text as deadline', async () => {
    const sentence = 'The committee will publish its detailed report on the regional economy next spring. ';
    const text = sentence.repeat(Math.floor(5000 / sentence.length));
    const texts = Array(16).fill(text);

    const started = performance.now();
    const res = await post(api, '/v1/translate', { texts, source_language: 'en', target_language: 'fr', num_beams: 8 });
    const answeredMs = performance.now() - started;
    await sleep(SETTLE_MS);
    const share = await cpuShareOver(WINDOW_MS);

    expect(res.status).toBe(504);
    expect(answeredMs).toBeLessThan(TIMEOUT_MS);
    expect(share).toBeLessThan(MAX_IDLE_CPU_SHARE);
    const requestId = res.body.error?.requestId as string;
    const records = await eventually(
      () => recordsOf(api, requestId),
      (r) => r.length === 16,
    );
    expect(records).toHaveLength(16);
    expect(new Set(records.map((r) => r.outcome))).toEqual(new Set(['deadline']));
    expect(records.map((r) => (r.billable as { characters: number }).characters)).toEqual(Array(16).fill(text.length));
  });
});
