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
