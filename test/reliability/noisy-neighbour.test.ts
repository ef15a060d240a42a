import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, startTestApi } from '../helpers/local-api.ts';

/**
 * One key's heavy traffic hurts no one else (issue 23, Done when): key B's light requests
 * keep their p95 within 2× of what it is alone (plus a small floor for a shared, loaded
 * 2-core machine) while key A sends heavy legal traffic (long beam-search translations and
 * long completions, from several clients at once, as far as fair use lets it: past its
 * heavy slots A gets 429s and tries again). Both measured side by side in this run, in the
 * default one-process mode (every function in the emulator's process).
 */
const KEY_A = 'heavy-key';
const KEY_B = 'light-key';
/** Short enough that A's heavy requests end (504) soon after the test stops sending them. */
const TIMEOUT_MS = 8_000;
const LIGHT_REQUESTS = 40;
/** Clients of key A sending heavy requests back to back. */
const HEAVY_CLIENTS = 4;
/**
 * The floor, in ms: in one process a light request can wait for the one decode step of A
 * under way (ONNX Runtime runs a session synchronously on the event loop), ~40–70 ms for
 * these requests on a loaded 2-core machine, plus scheduling noise from other work on it.
 */
const FLOOR_MS = 100;
const SENTENCE = 'The committee will publish its detailed report on the regional economy next spring. ';
/** Key A's heavy requests; the i-th is new text each time (no result cache answers it). */
const HEAVY = [
  (i: number) => ({
    path: '/v1/translate',
    body: {
      texts: Array.from({ length: 4 }, (_, t) => `${i}.${t} ${SENTENCE.repeat(20)}`),
      source_language: 'en',
      target_language: 'fr',
      num_beams: 4,
    },
  }),
  (i: number) => ({
    path: '/v1/completions',
    body: { model: 'tiny-gpt2', prompt: [`Once upon a time ${i}`, 'Hello'], n: 4, max_tokens: 200 },
  }),
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const p95 = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.95) - 1]!;
};
/** Key B's light requests one after another (a short text to classify, no cache): their latencies. */
const lightLatencies = async (api: LocalStack): Promise<number[]> => {
  const latencies: number[] = [];
  for (let i = 0; i < LIGHT_REQUESTS; i++) {
    const started = performance.now();
    const res = await post(
      api,
      '/v1/predict',
      { text: `A short note, number ${i}.`, cache: false },
      { 'x-api-key': KEY_B },
    );
    latencies.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`light request answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return latencies;
};

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi(
    {},
    { LOCAL_API_KEY: `${KEY_A}:1000:1000,${KEY_B}:1000:1000`, LOCAL_TIMEOUT_MS: String(TIMEOUT_MS) },
  );
  // Every model loaded and warm first: a first load is not what is measured.
  await post(api, '/v1/predict', { text: 'warm up' }, { 'x-api-key': KEY_B });
  for (const heavy of HEAVY) {
    const { path, body } = heavy(-1);
    await post(api, path, body, { 'x-api-key': KEY_A });
  }
}, 180_000);
afterAll(async () => api?.close());

describe("key A's heavy traffic", () => {
  it("leaves key B's p95 within 2× of normal", async () => {
    const alone = await lightLatencies(api);

    let sending = true;
    const statuses: number[] = [];
    const heavyClient = async (n: number) => {
      for (let i = n; sending; i += HEAVY_CLIENTS) {
        const { path, body } = HEAVY[i % HEAVY.length]!(i);
        const res = await post(api, path, body, { 'x-api-key': KEY_A }).catch(() => ({ status: 0 }));
        statuses.push(res.status);
        // Refused (429 past its heavy slots): try again shortly, as a client honouring Retry-After roughly would.
        if (res.status === 429) await sleep(100);
      }
    };
    const clients = Array.from({ length: HEAVY_CLIENTS }, (_, n) => heavyClient(n));
    await sleep(500);
    const loaded = await lightLatencies(api);
    sending = false;
    await Promise.all(clients);

    const figures = {
      aloneP95: p95(alone),
      loadedP95: p95(loaded),
      // Ran to an answer or to the deadline: A's heavy work was admitted, not all refused.
      heavyRun: statuses.filter((s) => s === 200 || s === 504).length,
    };
    console.info('noisy neighbour (ms)', JSON.stringify(figures));
    expect(figures.heavyRun).toBeGreaterThan(0);
    expect(figures.loadedP95).toBeLessThanOrEqual(2 * figures.aloneP95 + FLOOR_MS);
  }, 180_000);
});
