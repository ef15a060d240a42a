import { describe, expect, it } from 'vitest';
import { apiIdOf, authorize, UNAUTHORIZED } from '#functions/authorizer/authorize.ts';
import type { KeySource, KnownKey } from '#http/key-source.ts';

const ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/v1/chat/completions';
const keys: KeySource = {
  lookup: async (value) =>
    (
      ({
        good: { id: 'id-good', enabled: true },
        off: { id: 'id-off', enabled: false },
        pro: { id: 'id-pro', enabled: true, plan: { rate: 50, burst: 100, name: 'hf-serve-prod-pro' } },
      }) as Record<string, KnownKey>
    )[value],
};
const run = (headers: Record<string, string>) => authorize({ headers, methodArn: ARN }, keys);

describe('authorize', () => {
  it.each([
    ['x-api-key', { 'x-api-key': 'good' }],
    ['Authorization: Bearer', { Authorization: 'Bearer good' }],
    ['both, x-api-key first', { 'x-api-key': 'good', authorization: 'Bearer other' }],
  ])('allows an enabled key in %s, with usageIdentifierKey for the usage plans', async (_, headers) => {
    const out = await run(headers);

    expect(out).toMatchObject({ principalId: 'id-good', usageIdentifierKey: 'good', context: { apiKeyId: 'id-good' } });
    expect(out.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*',
      },
    ]);
  });

  it("passes the key's usage plan name on in the context (fair use's per-plan allowances); none when unknown", async () => {
    const pro = await run({ 'x-api-key': 'pro' });
    const planless = await run({ 'x-api-key': 'good' });

    expect(pro.context).toEqual({ apiKeyId: 'id-pro', plan: 'hf-serve-prod-pro' });
    expect(planless.context).toEqual({ apiKeyId: 'id-good' });
  });

  it('reads the API id from the method ARN (its plans are the ones that count)', () => {
    expect(apiIdOf(ARN)).toBe('abc123');
    expect(apiIdOf('not-an-arn')).toBeUndefined();
  });

  it.each([
    ['no header', {}],
    ['empty x-api-key', { 'x-api-key': '' }],
    ['a Basic credential', { authorization: 'Basic Z29vZA==' }],
    ['Bearer with no token', { authorization: 'Bearer ' }],
  ])('throws Unauthorized (401) for %s', async (_, headers) => {
    await expect(run(headers)).rejects.toThrow(new Error(UNAUTHORIZED));
  });

  it.each([
    ['an unknown key', { 'x-api-key': 'nope' }],
    ['a disabled key', { authorization: 'Bearer off' }],
    ['a key differing in case', { 'x-api-key': 'GOOD' }],
  ])('denies (403) %s, for this method only, with no usageIdentifierKey', async (_, headers) => {
    const out = await run(headers);

    expect(out.usageIdentifierKey).toBeUndefined();
    expect(out.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: ARN }]);
  });
});
