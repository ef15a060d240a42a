import { describe, expect, it } from 'vitest';
import { proxyEvent } from '#local/events.ts';

const eventWith = (query: string) =>
  proxyEvent({
    method: 'GET',
    resource: '/health',
    path: '/health',
    pathParameters: null,
    headers: {},
    query: new URLSearchParams(query),
    body: null,
  });

describe('proxyEvent', () => {
  it('keeps query parameters named like Object.prototype members as data', () => {
    const event = eventWith('__proto__=a&valueOf=b&valueOf=c');

    expect(Object.getPrototypeOf(event.queryStringParameters)).toBe(Object.prototype);
    expect(Object.entries(event.queryStringParameters!)).toEqual([
      ['__proto__', 'a'],
      ['valueOf', 'c'],
    ]);
    expect(Object.entries(event.multiValueQueryStringParameters!)).toEqual([
      ['__proto__', ['a']],
      ['valueOf', ['b', 'c']],
    ]);
  });

  it('has no query parameters for an empty query string', () => {
    const event = eventWith('');

    expect(event.queryStringParameters).toBeNull();
    expect(event.multiValueQueryStringParameters).toBeNull();
  });
});

describe('proxyEvent: the authorizer context of a keyed route', () => {
  const keyed = (apiKeyId?: string, plan?: string) =>
    proxyEvent({
      method: 'POST',
      resource: '/v1/detect',
      path: '/v1/detect',
      pathParameters: null,
      headers: {},
      query: new URLSearchParams(),
      body: '{}',
      ...(apiKeyId ? { apiKeyId } : {}),
      plan,
    });

  it("carries the key's id and its plan's name where the AWS authorizer puts them; none for an unkeyed route", () => {
    expect(keyed('local-abc', 'pro').requestContext.authorizer).toEqual({
      principalId: 'local-abc',
      apiKeyId: 'local-abc',
      plan: 'pro',
    });
    expect(keyed('local-abc').requestContext.authorizer).toEqual({ principalId: 'local-abc', apiKeyId: 'local-abc' });
    expect(keyed(undefined, 'pro').requestContext.authorizer).toBeNull();
  });
});
