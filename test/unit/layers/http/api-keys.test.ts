import { describe, expect, it } from 'vitest';
import { apiKeyOf } from '#http/api-keys.ts';

describe('apiKeyOf', () => {
  it.each([
    [{ 'x-api-key': 'k1' }, 'k1'],
    [{ 'X-Api-Key': ' k1 ' }, 'k1'],
    [{ authorization: 'Bearer sk-1' }, 'sk-1'],
    [{ Authorization: 'bearer   sk-1' }, 'sk-1'],
    [{ 'x-api-key': 'k1', authorization: 'Bearer k2' }, 'k1'],
    [{ 'x-api-key': '', authorization: 'Bearer k2' }, 'k2'],
  ])('%j → %s', (headers, key) => {
    expect(apiKeyOf(headers)).toBe(key);
  });

  it.each([
    [{}],
    [null],
    [{ authorization: 'Basic abc' }],
    [{ authorization: 'Bearer a b' }],
    [{ authorization: 'Bearer' }],
  ])('%j carries no key', (headers) => {
    expect(apiKeyOf(headers)).toBeUndefined();
  });
});
