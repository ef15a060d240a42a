import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import type { LocalStack } from '#local/stack.ts';
import { seedFailedImport } from '../helpers/hub-stand-in.ts';
import { get, post, startTestApi } from '../helpers/local-api.ts';
import { checkAnswer, send } from './fuzz/answers.ts';
import { type FuzzRequest, requestsFor, routeKey, takesInput } from './fuzz/routes.ts';

/**
 * Property-based fuzzing of every route of `functions/routes.ts` through the real local
 * API (dynalite, real ONNX inference on the fixtures). Seeded: a failure prints the
 * seed and the shrunk request; `FUZZ_SEED=<n>` replays or explores, `FUZZ_RUNS=<n>`
 * changes the number of cases per route.
 */
const BASE_SEED = Number(process.env.FUZZ_SEED ?? 20_260_611);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1_000);
const ROUTE_TIMEOUT_MS = 300_000;
/** Each route's cases must reach its handler's work, not only its validator, and its errors. */
const MIN_SHARE = 0.05;
/** A key on its own usage plan, high enough that the gateway never throttles the fuzzer. */
const FUZZ_KEY = 'fuzz-key';

/** A seed per route, stable when routes are added or reordered. */
const seedOf = (key: string): number => {
  let h = BASE_SEED >>> 0;
  for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 16_777_619) >>> 0;
  return h | 0;
};

interface RouteStats {
  cases: number;
  ms: number;
  byStatus: Record<string, number>;
  byKind: Record<FuzzRequest['kind'], number>;
}
const stats = new Map<string, RouteStats>();

const GOOD = {
  predict: { text: 'I love this product, it works perfectly!', model: 'tiny-distilbert-sentiment@1' },
  detect: { text: 'This is an English sentence about the weather and the files in my folder.' },
  translate: { text: 'Hello world.', source_language: 'en', target_language: 'fr', max_new_tokens: 8 },
  completions: { model: 'tiny-gpt2', prompt: 'Hello, my name is', max_tokens: 6, temperature: 0 },
};
/** What each capability answers to a known-good request, minus what changes per request. */
const knownGood = async (api: LocalStack) => {
  // cache: false: the answers after the fuzzing must come from the models, not the result cache.
  const [predict, detect, translate, completions] = await Promise.all([
    post(api, '/v1/predict', { ...GOOD.predict, cache: false }, { 'x-api-key': FUZZ_KEY }),
    post(api, '/v1/detect', { ...GOOD.detect, cache: false }, { 'x-api-key': FUZZ_KEY }),
    post(api, '/v1/translate', { ...GOOD.translate, cache: false }, { 'x-api-key': FUZZ_KEY }),
    post(api, '/v1/completions', GOOD.completions, { 'x-api-key': FUZZ_KEY }),
  ]);
  return {
    statuses: [predict.status, detect.status, translate.status, completions.status],
    predict: { label: predict.body.label, scores: predict.body.scores },
    detect: { language: detect.body.language, confidence: detect.body.confidence },
    translate: translate.body.translations,
    completions: (completions.body.choices as unknown[] | undefined)?.[0],
  };
};

/**
 * A few records of every kind the analytics read (batch, compare, ensemble), so their
 * fuzzing reaches the aggregation, not only an empty day.
 */
const seedLog = async (api: LocalStack) => {
  const key = { 'x-api-key': FUZZ_KEY };
  const texts = ['I love it', 'I hate it', 'It is a folder', 'Files everywhere'];
  const members = ['tiny-distilbert-sentiment@1', 'tiny-distilbert-sentiment@2'];
  const answers = await Promise.all([
    post(api, '/v1/predict/batch', { texts }, key),
    post(api, '/v1/predict/batch', { texts, model: 'tiny-distilbert-sentiment@canary' }, key),
    post(api, '/v1/predict/compare', { texts, versions: ['1', '2'] }, key),
    post(api, '/v1/predict/batch', { texts, ensemble: { members, method: 'hard' } }, key),
  ]);
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
  // An import job whose status route answers 200 (failed: the import poller leaves it alone).
  await seedFailedImport(api, 'Xenova/tiny-gpt2@main');
};

/**
 * Routes that only read go first: the analytics then aggregate the seeded log rather
 * than every record the fuzzing writes (a busy day's summary reads all of its records,
 * which would make the analytics' 1,000 cases the slowest part of the suite).
 */
const ORDERED = [...ROUTES].sort((a, b) => Number(a.method === 'POST') - Number(b.method === 'POST'));

let api: LocalStack;
let before: Awaited<ReturnType<typeof knownGood>>;
beforeAll(async () => {
  api = await startTestApi({}, { LOCAL_API_KEY: `${FUZZ_KEY}:100000:100000` });
  before = await knownGood(api);
  await seedLog(api);
});
afterAll(async () => {
  await api?.close();
  const rows = [...stats].map(([route, s]) => ({
    route,
    cases: s.cases,
    seconds: Number((s.ms / 1000).toFixed(1)),
    ...s.byKind,
    ...Object.fromEntries(Object.entries(s.byStatus).sort()),
  }));
  if (rows.length) console.table(rows);
});

describe('fuzzing every route over HTTP', () => {
  it.each(ORDERED.map((r) => [routeKey(r), r] as const))('%s', { timeout: ROUTE_TIMEOUT_MS }, async (key, route) => {
    const requests = requestsFor(route, FUZZ_KEY);
    if (!requests)
      throw new Error(`No arbitrary for ${key}: add its shape to ROUTE_SHAPES in test/reliability/fuzz/routes.ts.`);
    const s: RouteStats = { cases: 0, ms: 0, byStatus: {}, byKind: { hostile: 0, 'near-valid': 0, valid: 0 } };
    stats.set(key, s);
    const started = performance.now();
    const seed = seedOf(key);

    const property = fc.asyncProperty(requests, async (req) => {
      const res = await send(api.url, req);
      s.cases += 1;
      s.byKind[req.kind] += 1;
      s.byStatus[res.status] = (s.byStatus[res.status] ?? 0) + 1;
      checkAnswer(route, req, res);
      // The emulator runs in this process: a polluted prototype would show here.
      expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
    });
    try {
      await fc.assert(property, { numRuns: RUNS, seed });
    } catch (error) {
      // fast-check's report has this route's seed and the shrunk request; say how to replay it.
      throw new Error(
        `${key} failed with FUZZ_SEED=${BASE_SEED} (route seed ${seed}); replay: FUZZ_SEED=${BASE_SEED} npx vitest run test/reliability/fuzz.test.ts -t '${key}'\n${(error as Error).message}`,
        { cause: error },
      );
    }
    s.ms = performance.now() - started;

    const share = (from: number, to: number) =>
      Object.entries(s.byStatus).reduce((n, [st, c]) => (Number(st) >= from && Number(st) < to ? n + c : n), 0) /
      s.cases;
    expect(share(200, 300), `${key}: share of 2xx answers (seed ${seed})`).toBeGreaterThanOrEqual(MIN_SHARE);
    if (takesInput(route))
      expect(share(400, 500), `${key}: share of 4xx answers (seed ${seed})`).toBeGreaterThanOrEqual(MIN_SHARE);
  });

  it('still answers /health and every capability correctly afterwards', async () => {
    const health = await get(api, '/health', {});
    const after = await knownGood(api);

    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    expect(after.statuses).toEqual([200, 200, 200, 200]);
    expect(after).toEqual(before);
    expect(before.predict.label).toMatch(/^(POSITIVE|NEGATIVE)$/);
    expect(before.detect.language).toBe('en');
    expect(before.translate).toHaveLength(1);
  });
});
