import { describe, expect, it } from 'vitest';
import { ValidationError } from '#runtime/errors.ts';
import { languageResolver, resolveLanguage } from '#tasks/translation/languages.ts';

const SUPPORTED = ['eng_Latn', 'fra_Latn', 'swh_Latn'];

describe('languageResolver', () => {
  it('resolves any accepted form to the FLORES code the model supports', () => {
    // Prepare
    const resolve = languageResolver(SUPPORTED);

    // Act
    const codes = ['fr', 'fra', 'FRA_latn', 'sw'].map((code) => resolve(code, 'target_language'));

    // Assess
    expect(codes).toEqual(['fra_Latn', 'fra_Latn', 'fra_Latn', 'swh_Latn']);
  });

  it("refuses an unsupported code with resolveLanguage's message, naming the request field", () => {
    // Prepare
    const resolve = languageResolver(SUPPORTED);
    const expected = (() => {
      try {
        resolveLanguage('xx', SUPPORTED, { param: 'target' });
      } catch (error) {
        return error as ValidationError;
      }
    })();

    // Act
    const attempt = () => resolve('xx', 'target');

    // Assess
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(expected?.message);
    expect(expected?.message).toMatch(/^target: Unsupported language code "xx"/);
  });

  it('refuses an unsupported code on every call, not only the first', () => {
    // Prepare
    const resolve = languageResolver(SUPPORTED);

    // Act
    const attempt = () => resolve('xx', 'source');

    // Assess
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(ValidationError);
  });

  it('takes every code as given for a model that lists no languages', () => {
    // Act
    const code = languageResolver([])('xx', 'source');

    // Assess
    expect(code).toBe('xx');
  });
});
