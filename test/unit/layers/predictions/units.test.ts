import { describe, expect, it } from 'vitest';
import { charactersOf, tokensOf } from '#predictions/units.ts';

describe('usage units', () => {
  it('counts characters (code points) of text, texts and q', () => {
    expect(charactersOf({ text: 'héllo' })).toBe(5);
    expect(charactersOf({ texts: ['ab', 'cd'] })).toBe(4);
    expect(charactersOf({ q: ['😀', 'x'] })).toBe(2);
    expect(charactersOf({ q: 'abc', api_key: 'secret' })).toBe(3);
  });

  it('reserves max_tokens (or max_completion_tokens, else the default) × n × prompts', () => {
    expect(tokensOf({ max_tokens: 10 }, 16)).toBe(10);
    expect(tokensOf({ max_completion_tokens: 7, max_tokens: 10, n: 2 }, 16)).toBe(14);
    expect(tokensOf({ prompt: ['a', 'b', 'c'], n: 2 }, 16)).toBe(96);
  });
});
