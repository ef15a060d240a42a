import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { get, post, startTestApi } from '../../../helpers/local-api.ts';

/**
 * The predict function over the local API: /v1/status's coldStartMs counts the init and
 * the first invocation, not the time the process lived before its first request; Compare
 * refuses two refs that resolve to one version.
 */
describe('predict function', () => {
  let api: LocalStack;
  let firstRequestMs = 0;

  beforeAll(async () => {
    api = await startTestApi();
    // The process has lived for a while (vitest, dynalite, the emulator) before this, its first request.
    const before = performance.now();
    const first = await post(api, '/v1/predict', { text: 'I love this product' });
    firstRequestMs = performance.now() - before;
    expect(first.status).toBe(200);
  });

  afterAll(async () => {
    await api?.close();
  });

  it('reports a cold start of init plus the first invocation, not the idle time before it', async () => {
    // Act
    const status = await get(api, '/v1/status');
    // Assess: the function's init (its import) and first invocation both happened within the first request.
    const coldStartMs = status.body.coldStartMs as number;
    expect(coldStartMs).toBeGreaterThan(0);
    expect(coldStartMs).toBeLessThanOrEqual(Math.ceil(firstRequestMs) + 1);
    expect(coldStartMs).toBeLessThan(Math.round(process.uptime() * 1000) - Math.ceil(firstRequestMs));
  });

  it('refuses to compare a version with an alias that points to it', async () => {
    // Act
    const res = await post(api, '/v1/predict/compare', {
      model: 'tiny-distilbert-sentiment',
      versions: ['1', 'prod'],
      text: 'fine',
    });
    // Assess
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'validation_error' });
    expect(res.body.error?.message).toBe(
      'versions: "1" and "prod" are both tiny-distilbert-sentiment@1; name two different versions',
    );
  });

  it('still compares two versions', async () => {
    const res = await post(api, '/v1/predict/compare', {
      model: 'tiny-distilbert-sentiment',
      versions: ['1', '2'],
      text: 'fine',
    });

    expect(res.status).toBe(200);
    expect(res.body.versions).toMatchObject({ a: { version: '1' }, b: { version: '2' } });
  });
});
