import { describe, expect, it } from 'vitest';
import { ValidationError } from '#runtime/errors.ts';
import { resolveLanguage, supportedLanguages } from '#tasks/translation/index.ts';
import { languageResolver } from '#tasks/translation/languages.ts';

const SUPPORTED = ['eng_Latn', 'fra_Latn', 'deu_Latn', 'swh_Latn', 'zho_Hans', 'zho_Hant', 'ace_Arab', 'ace_Latn'];

describe('resolveLanguage', () => {
  it.each([
    ['eng_Latn', 'eng_Latn'],
    ['SWH_latn', 'swh_Latn'],
    [' fr ', 'fra_Latn'],
    ['sw', 'swh_Latn'],
    ['swh', 'swh_Latn'],
    ['swa', 'swh_Latn'],
    ['de', 'deu_Latn'],
    ['deu', 'deu_Latn'],
    ['zh', 'zho_Hans'],
    ['zh-TW', 'zho_Hant'],
    ['zho', 'zho_Hans'],
    ['ace', 'ace_Latn'],
  ])('%j -> %s', (code, flores) => {
    expect(resolveLanguage(code, SUPPORTED)).toBe(flores);
  });

  it('rejects an unknown code, naming the field, the nearest codes and the languages route', () => {
    // Act
    const attempt = () => resolveLanguage('fra_Latm', SUPPORTED, { param: 'target_language' });

    // Assess
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(
      /^target_language: Unsupported language code "fra_Latm"\. Nearest supported codes: \[.*"fra_Latn"/,
    );
    expect(attempt).toThrow(/GET \/v1\/languages lists all 8 supported languages/);
  });

  it('rejects a real language the model does not support', () => {
    // Act
    let error: unknown;
    try {
      resolveLanguage('yo', SUPPORTED, { param: 'source_language' });
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).status).toBe(400);
    expect((error as ValidationError).param).toBe('source_language');
    expect((error as ValidationError).details).toMatchObject({ code: 'yo' });
  });

  it('takes the only script variant the model supports when the preferred one is missing', () => {
    expect(resolveLanguage('ace', ['eng_Latn', 'ace_Arab'])).toBe('ace_Arab');
    expect(resolveLanguage('zh', ['eng_Latn', 'zho_Hant'])).toBe('zho_Hant');
  });

  it('does not swap the script of an explicit FLORES code', () => {
    expect(() => resolveLanguage('zho_Hanx', SUPPORTED)).toThrow(/Unsupported language code "zho_Hanx".*"zho_Hans"/);
    expect(() => resolveLanguage('srp_Latn', ['srp_Cyrl'])).toThrow(/Unsupported language code "srp_Latn"/);
  });

  it('says so when no supported code is close', () => {
    expect(() => resolveLanguage('qqq', SUPPORTED)).toThrow(
      /"qqq"\. No supported code is close to it\. Use a FLORES-200 code/,
    );
  });

  it('rejects an empty code', () => {
    expect(() => resolveLanguage('  ', SUPPORTED)).toThrow(/Missing language code/);
  });
});

describe('supportedLanguages', () => {
  it('joins the model codes with names and scripts, sorted by code', () => {
    // Act
    const languages = supportedLanguages({ languages: () => ['swh_Latn', 'eng_Latn', 'zho_Hant'] });

    // Assess
    expect(languages.map((l) => l.code)).toEqual(['eng_Latn', 'swh_Latn', 'zho_Hant']);
    expect(languages[0]).toMatchObject({
      code: 'eng_Latn',
      name: 'English',
      script: 'Latn',
      iso639_1: 'en',
      iso639_3: 'eng',
    });
    expect(languages[1]).toMatchObject({ code: 'swh_Latn', script: 'Latn', iso639_1: 'sw' });
    expect(languages[1]?.name).toMatch(/Swahili/);
    expect(languages[2]).toMatchObject({ code: 'zho_Hant', script: 'Hant' });
  });

  it('keeps a code the table does not know, with its script from the code', () => {
    // Act
    const [language] = supportedLanguages({ languages: () => ['xyz_Latn'] });

    // Assess
    expect(language).toEqual({ code: 'xyz_Latn', name: 'xyz_Latn', script: 'Latn', iso639_3: 'xyz' });
  });
});

const FEW = ['eng_Latn', 'fra_Latn', 'swh_Latn'];

describe('languageResolver', () => {
  it('resolves any accepted form to the FLORES code the model supports', () => {
    // Prepare
    const resolve = languageResolver(FEW);

    // Act
    const codes = ['fr', 'fra', 'FRA_latn', 'sw'].map((code) => resolve(code, 'target_language'));

    // Assess
    expect(codes).toEqual(['fra_Latn', 'fra_Latn', 'fra_Latn', 'swh_Latn']);
  });

  it("refuses an unsupported code with resolveLanguage's message, naming the request field", () => {
    // Prepare
    const resolve = languageResolver(FEW);
    const expected = (() => {
      try {
        resolveLanguage('xx', FEW, { param: 'target' });
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
    const resolve = languageResolver(FEW);

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
