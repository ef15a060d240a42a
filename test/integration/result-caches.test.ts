import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

// The handlers' Powertools metrics are off in tests (vitest.config.ts); the metrics view needs them.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

/** A second tenant: its own key, same generous plan as the test key. */
const OTHER_KEY = 'other-tenant-key';

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi(
    {},
    { LOCAL_EMF_ECHO: 'false', LOCAL_API_KEY: `${TEST_KEY}:1000:1000,${OTHER_KEY}:1000:1000` },
  );
});
afterAll(async () => api?.close());

const asKey = (key: string) => ({ 'x-api-key': key });
const unique = (label: string) => `${label} ${Date.now()} ${Math.random().toString(36).slice(2, 8)}`;
const withoutVolatile = ({ requestId: _r, cached: _c, ...rest }: Record<string, unknown>) => rest;

interface Translated {
  text: string;
  source_language: string;
  cached: boolean;
}

describe('translate result cache', () => {
  it('answers a repeated request from the cache, identical, and records it as cached', async () => {
    const request = { texts: [`Good morning. ${unique('t')}`], source_language: 'en', target_language: 'fr' };
    const cold = await post(api, '/v1/translate', request);
    const warm = await post(api, '/v1/translate', request);

    expect(cold.status).toBe(200);
    const [coldT] = cold.body.translations as Translated[];
    const [warmT] = warm.body.translations as Translated[];
    expect(coldT!.cached).toBe(false);
    expect(warmT!.cached).toBe(true);
    expect(warmT!.text).toBe(coldT!.text);
    expect(warm.body.target_language).toBe(cold.body.target_language);
    expect(warm.body.characters).toBe(cold.body.characters);
    expect((await recordsOf(api, warm.body.requestId as string))[0]).toMatchObject({ cached: true });
    expect((await recordsOf(api, cold.body.requestId as string))[0]).toMatchObject({ cached: false });
  });

  it('keys by options: another target or beam width is a miss', async () => {
    const text = `See you soon. ${unique('o')}`;
    await post(api, '/v1/translate', { text, source_language: 'en', target_language: 'fr' });
    const otherTarget = await post(api, '/v1/translate', { text, source_language: 'en', target_language: 'sw' });
    const otherBeams = await post(api, '/v1/translate', {
      text,
      source_language: 'en',
      target_language: 'fr',
      num_beams: 2,
    });

    expect((otherTarget.body.translations as Translated[])[0]!.cached).toBe(false);
    expect((otherBeams.body.translations as Translated[])[0]!.cached).toBe(false);
  });

  it('mixes hits and misses in one request, in input order', async () => {
    const seen = `Thank you very much. ${unique('m')}`;
    await post(api, '/v1/translate', { text: seen, source_language: 'en', target_language: 'fr' });
    const both = await post(api, '/v1/translate', {
      texts: [`New one. ${unique('n')}`, seen, seen],
      source_language: 'en',
      target_language: 'fr',
    });

    expect((both.body.translations as Translated[]).map((t) => t.cached)).toEqual([false, true, true]);
  });

  it('skips the cache with "cache": false (neither read nor stored)', async () => {
    const request = { text: `Hello there. ${unique('x')}`, source_language: 'en', target_language: 'fr' };
    await post(api, '/v1/translate', request);
    const optedOut = await post(api, '/v1/translate', { ...request, cache: false });
    const fresh = { ...request, text: `${request.text} again` };
    await post(api, '/v1/translate', { ...fresh, cache: false });
    const afterOptOut = await post(api, '/v1/translate', fresh);

    expect((optedOut.body.translations as Translated[])[0]!.cached).toBe(false);
    expect((afterOptOut.body.translations as Translated[])[0]!.cached).toBe(false);
  });

  it('answers a non-boolean "cache" with a 400 naming the field', async () => {
    const { status, body } = await post(api, '/v1/translate', { text: 'x', target_language: 'fr', cache: 'no' });

    expect(status).toBe(400);
    expect(JSON.stringify(body.error)).toContain('cache');
  });
});

describe('detect result cache', () => {
  it('answers a repeated text from the cache, identical; top_k is part of the key', async () => {
    const text = `Bonjour tout le monde, comment allez-vous ? ${unique('d')}`;
    const cold = await post(api, '/v1/detect', { text });
    const warm = await post(api, '/v1/detect', { text });
    const otherK = await post(api, '/v1/detect', { text, top_k: 1 });
    const optedOut = await post(api, '/v1/detect', { text, cache: false });

    expect(cold.body.cached).toBe(false);
    expect(warm.body.cached).toBe(true);
    expect(withoutVolatile(warm.body)).toEqual(withoutVolatile(cold.body));
    expect(otherK.body.cached).toBe(false);
    expect(optedOut.body.cached).toBe(false);
    expect((await recordsOf(api, warm.body.requestId as string))[0]).toMatchObject({ cached: true });
  });
});

describe('predict cache opt-out', () => {
  it('skips the cache with "cache": false on /v1/predict and /v1/predict/batch', async () => {
    const text = `Opt out of the cache ${unique('po')}`;
    await post(api, '/v1/predict', { text });
    const single = await post(api, '/v1/predict', { text, cache: false });
    const batch = await post(api, '/v1/predict/batch', { texts: [text], cache: false });
    const fresh = `${text} fresh`;
    await post(api, '/v1/predict', { text: fresh, cache: false });
    const afterOptOut = await post(api, '/v1/predict', { text: fresh });

    expect(single.body.cached).toBe(false);
    expect((batch.body.results as Array<{ cached: boolean }>)[0]!.cached).toBe(false);
    expect(afterOptOut.body.cached).toBe(false);
  });
});

describe('tenant isolation (issue 23): no key learns whether another key sent a text', () => {
  it('predict: key B sending key A’s text gets cached: false, then its own hit', async () => {
    const text = `A secret sentence ${unique('p')}`;
    const a = await post(api, '/v1/predict', { text }, asKey(TEST_KEY));
    const aAgain = await post(api, '/v1/predict', { text }, asKey(TEST_KEY));
    const b = await post(api, '/v1/predict', { text }, asKey(OTHER_KEY));
    const bAgain = await post(api, '/v1/predict', { text }, asKey(OTHER_KEY));

    expect([a.body.cached, aAgain.body.cached, b.body.cached, bAgain.body.cached]).toEqual([false, true, false, true]);
    expect(b.body.label).toBe(a.body.label);
  });

  it('translate: key B sending key A’s text gets cached: false', async () => {
    const request = { text: `Good night. ${unique('tt')}`, source_language: 'en', target_language: 'fr' };
    await post(api, '/v1/translate', request, asKey(TEST_KEY));
    const b = await post(api, '/v1/translate', request, asKey(OTHER_KEY));
    const bAgain = await post(api, '/v1/translate', request, asKey(OTHER_KEY));

    expect((b.body.translations as Translated[])[0]!.cached).toBe(false);
    expect((bAgain.body.translations as Translated[])[0]!.cached).toBe(true);
  });

  it('detect: key B sending key A’s text gets cached: false', async () => {
    const text = `Guten Morgen, wie geht es Ihnen heute? ${unique('dd')}`;
    await post(api, '/v1/detect', { text }, asKey(TEST_KEY));
    const b = await post(api, '/v1/detect', { text }, asKey(OTHER_KEY));

    expect(b.body.cached).toBe(false);
  });
});

describe('metrics', () => {
  it('draws each cached function’s hit rate on the local metrics view', async () => {
    const text = `Hit rate probe ${unique('h')}`;
    for (let i = 0; i < 4; i++) await post(api, '/v1/detect', { texts: [text] });
    const res = await fetch(`${api.url}/metrics-view/data?minutes=5`);
    const view = (await res.json()) as {
      panels: Array<{ id: string; series: Array<{ label: string; value: number | null }> }>;
    };
    const rate = (fn: string) =>
      view.panels.find((p) => p.id === `${fn}-cache`)?.series.find((s) => s.label === 'CacheHitRate %')?.value;

    // At least 3 of the 4 identical requests above were hits; earlier tests add both kinds.
    expect(rate('detect')).toBeGreaterThan(0);
    expect(rate('detect')).toBeLessThan(100);
    expect(rate('translate')).toBeGreaterThan(0);
    expect(rate('predict')).toBeGreaterThan(0);
  });
});
