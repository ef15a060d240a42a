import { describe, expect, it } from 'vitest';
import { authenticateBodyKey, bodyOrHeaderKey } from '#functions/body-key.ts';
import { planOf } from '#http/api-keys.ts';
import { staticKeySource } from '#http/key-source.ts';
import type { ApiEvent } from '#http/types.ts';

/** Unlimited plan numbers: no window is finite, so nothing is written to DynamoDB. */
const OPEN = { rate: Number.POSITIVE_INFINITY, burst: Number.POSITIVE_INFINITY };
const keys = staticKeySource(
  new Map([
    ['good', { id: 'id-good', enabled: true, plan: OPEN }],
    ['off', { id: 'id-off', enabled: false, plan: OPEN }],
    ['planless', { id: 'id-planless', enabled: true }],
    ['pro', { id: 'id-pro', enabled: true, plan: { ...OPEN, name: 'hf-serve-dev-pro' } }],
  ]),
);
const eventOf = (headers: Record<string, string>, body: unknown) =>
  ({ headers, body, requestContext: { identity: { apiKeyId: null } } }) as unknown as ApiEvent;

describe('bodyOrHeaderKey', () => {
  it('takes a header key first, else a non-empty body api_key', () => {
    expect(bodyOrHeaderKey({ 'x-api-key': 'h' }, { api_key: 'b' })).toBe('h');
    expect(bodyOrHeaderKey({ authorization: 'Bearer h' }, { api_key: 'b' })).toBe('h');
    expect(bodyOrHeaderKey({}, { api_key: ' b ' })).toBe('b');
    expect(bodyOrHeaderKey({}, { api_key: '' })).toBeUndefined();
    expect(bodyOrHeaderKey({}, { api_key: 3 })).toBeUndefined();
    expect(bodyOrHeaderKey({}, null)).toBeUndefined();
  });
});

describe('authenticateBodyKey', () => {
  it('401 without a key; 403 for an unknown, disabled or planless key', async () => {
    await expect(authenticateBodyKey(eventOf({}, { q: 'x' }), keys)).rejects.toMatchObject({ status: 401 });
    for (const key of ['nope', 'off', 'planless']) {
      await expect(authenticateBodyKey(eventOf({}, { api_key: key }), keys)).rejects.toMatchObject({ status: 403 });
    }
  });

  it("sets the key's id where the gateway would, from the body or a header", async () => {
    const fromBody = eventOf({}, { api_key: 'good' });
    const fromHeader = eventOf({ 'x-api-key': 'good' }, { api_key: 'nope' });

    expect(await authenticateBodyKey(fromBody, keys)).toBe('id-good');
    expect(fromBody.requestContext.identity.apiKeyId).toBe('id-good');
    expect(await authenticateBodyKey(fromHeader, keys)).toBe('id-good');
  });

  it("puts the key's plan where the authorizer puts a header key's (planOf reads it); none when the mirror has none", async () => {
    const pro = eventOf({}, { api_key: 'pro' });
    const good = eventOf({}, { api_key: 'good' });

    await authenticateBodyKey(pro, keys);
    await authenticateBodyKey(good, keys);

    expect(pro.requestContext.authorizer).toEqual({ apiKeyId: 'id-pro', plan: 'hf-serve-dev-pro' });
    expect(planOf(pro.requestContext)).toBe('hf-serve-dev-pro');
    expect(planOf(good.requestContext)).toBeUndefined();
  });

  it('a key table that cannot be read answers a retryable 503, not a 403 or a 500', async () => {
    const down = { lookup: () => Promise.reject(new Error('ECONNREFUSED')) };

    await expect(authenticateBodyKey(eventOf({}, { api_key: 'good' }), down)).rejects.toMatchObject({
      status: 503,
      headers: { 'Retry-After': expect.any(String) },
    });
  });
});
