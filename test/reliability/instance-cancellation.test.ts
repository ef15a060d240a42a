import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { cpuMsOf } from '../../bench/lib.ts';
import { post, recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

/**
 * Cancellation across the process boundary (issue 23.2): with LOCAL_FUNCTION_CONCURRENCY > 0
 * the functions run in instance processes, and a client that leaves a streamed completion
 * must stop the generation inside the instance, as it does in process. Measured as the
 * instance process's CPU (from /proc) after the client left.
 */
/** Let the abort cross the IPC channel and reach the decoder (one step). */
const SETTLE_MS = 500;
const WINDOW_MS = 1_500;
const BUSY_WINDOW_MS = 1_000;
/** Idle with room for the instance's own bookkeeping; a decoding loop uses most of a core. */
const MAX_IDLE_CPU_SHARE = 0.25;
/** A generation that runs for many seconds when nothing stops it (16 prompts × 8 choices × 240 steps). */
const PROMPTS = 16;
const CHOICES = 8;
const MAX_TOKENS = 240;
const LONG_STREAM = {
  model: 'tiny-gpt2',
  prompt: Array.from({ length: PROMPTS }, (_, i) => `Story ${i}`),
  n: CHOICES,
  max_tokens: MAX_TOKENS,
  stream: true,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The processes' CPU over the next `ms`, as a share of one core. */
const cpuShareOver = async (pids: number[], ms: number): Promise<number> => {
  const before = await cpuMsOf(pids);
  const started = performance.now();
  await sleep(ms);
  return ((await cpuMsOf(pids)) - before) / (performance.now() - started);
};
/** Starts the long stream and returns once its first event arrived. */
const startStream = async (api: LocalStack, client: AbortController) => {
  const res = await fetch(`${api.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY },
    body: JSON.stringify(LONG_STREAM),
    signal: client.signal,
  });
  if (res.status !== 200) throw new Error(await res.text());
  await res.body!.getReader().read();
  return res;
};

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi(
    { MAX_PROMPTS: String(PROMPTS), MAX_CHOICES: String(CHOICES) },
    { LOCAL_FUNCTION_CONCURRENCY: '1', LOCAL_EMF_ECHO: 'false' },
  );
  expect((await post(api, '/v1/completions', { model: 'tiny-gpt2', prompt: 'Hi', max_tokens: 1 })).status).toBe(200);
}, 120_000);
afterAll(async () => api?.close());

describe('a streamed completion in an instance process whose client leaves', () => {
  it('stops generating inside the instance within a step, and records client_aborted', async () => {
    const pids = api.pools.get('completions')!.pids();
    expect(pids).toHaveLength(1);
    const client = new AbortController();
    const res = await startStream(api, client);
    const requestId = res.headers.get('x-request-id')!;
    // While the client reads, the instance is busy: the measure below can tell busy from idle.
    const busy = await cpuShareOver(pids, BUSY_WINDOW_MS);

    client.abort();
    await sleep(SETTLE_MS);
    const share = await cpuShareOver(pids, WINDOW_MS);

    // Side by side, so a loaded machine (a slower decoder) moves both: idle is a small part of busy.
    expect(share).toBeLessThan(MAX_IDLE_CPU_SHARE);
    expect(share).toBeLessThan(busy / 3);
    const records = await recordsOf(api, requestId);
    // One record per prompt begun: a prompt finished before the client left is delivered (ok).
    const outcomes = records.map((r) => r.outcome);
    expect(outcomes.at(-1)).toBe('client_aborted');
    expect(outcomes.slice(0, -1).every((o) => o === 'ok')).toBe(true);
    const billable = records.at(-1)!.billable as { tokens: number };
    expect(billable.tokens).toBeLessThan(CHOICES * MAX_TOKENS);
    expect(outcomes.length).toBeLessThan(PROMPTS);
  });

  it('leaves the instance free for the next request', async () => {
    const res = await post(api, '/v1/completions', { model: 'tiny-gpt2', prompt: 'Hi', max_tokens: 2 });

    expect(res.status).toBe(200);
    expect(api.pools.get('completions')!.stats.started).toBe(1);
  });
});
