import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findLanguage, fromFasttextLabel, LANGUAGES, nearestCodes } from '#tasks/languages/index.ts';

/** The 176 lid.176 labels in the model's own order (`fasttext dump lid.176.ftz dict`). */
const LID176 =
  'en ru de fr it ja es ceb tr pt uk eo pl sv nl he zh hu ar ca fi cs fa sr el vi bg ko no mk ro id th hy da ta hi hr sh be ka te kk war lt gl sk bn eu sl kn ml mr et az ms sq la bs nn ur lv my tt af oc nds ky ast tl is ia si gu km br ba uz bo pa vo als ne cy jbo fy mn lb ce ug tg sco sa cv jv min io or as new ga mg an ckb sw bar lmo yi arz mhr azb sah pnb su bpy pms ilo wuu ku ps ie xmf yue gom li mwl kw sd hsb scn gd pam bh mai vec mt dv wa mzn am qu eml cbk tk rm os vls yo lo lez so myv diq mrj dsb frr ht gn bxr kv sc nah krc bcl nap gv av rue xal pfl dty hif co lrc vep tyv'.split(
    ' ',
  );

/** NLLB-200's FLORES-200 codes, read from the tokenizer the translate capability uses. */
const nllbCodes = (): string[] => {
  const config = JSON.parse(
    readFileSync(new URL('../../../../fixtures/models/tiny-nllb/1/tokenizer_config.json', import.meta.url), 'utf8'),
  ) as { additional_special_tokens: string[] };
  return config.additional_special_tokens;
};

describe('language table', () => {
  it('maps every lid.176 label to a distinct known entry', () => {
    // Prepare
    const labels = LID176;
    // Act
    const entries = labels.map((l) => LANGUAGES.find((lang) => lang.fasttext === l));
    // Assess
    expect(labels).toHaveLength(176);
    expect(entries.every(Boolean)).toBe(true);
    expect(new Set(entries).size).toBe(176);
    expect(LANGUAGES.filter((l) => l.fasttext)).toHaveLength(176);
    expect(fromFasttextLabel('__label__sw').flores).toBe('swh_Latn');
    expect(fromFasttextLabel('__label__no').flores).toBe('nob_Latn');
    expect(fromFasttextLabel('als').iso639_3).toBe('gsw');
  });

  it('holds every NLLB FLORES-200 code exactly once, and no other', () => {
    // Prepare
    const codes = nllbCodes();
    // Act
    const flores = LANGUAGES.flatMap((l) => (l.flores ? [l.flores] : []));
    // Assess
    expect(codes).toHaveLength(202);
    expect([...flores].sort()).toEqual([...codes].sort());
    for (const l of LANGUAGES) {
      if (l.flores) expect(l.flores.endsWith(`_${l.script}`)).toBe(true);
      expect(l.iso639_3).toMatch(/^[a-z]{3}$/);
      if (l.iso639_1) expect(l.iso639_1).toMatch(/^[a-z]{2}$/);
    }
  });

  it('finds languages by FLORES, ISO 639-1, ISO 639-3 and macrolanguage codes, case-insensitively', () => {
    // Act
    const found = [
      'swh_Latn',
      'SWH_LATN',
      'sw',
      'SW',
      'swh',
      'swa',
      'zh',
      'zho',
      'zh-Hant',
      'zh_TW',
      'ar',
      'ara',
      'no',
      'fa',
      'sh',
    ].map((c) => findLanguage(c)?.flores ?? findLanguage(c)?.iso639_3);
    // Assess
    expect(found).toEqual([
      'swh_Latn',
      'swh_Latn',
      'swh_Latn',
      'swh_Latn',
      'swh_Latn',
      'swh_Latn',
      'zho_Hans',
      'zho_Hans',
      'zho_Hant',
      'zho_Hant',
      'arb_Arab',
      'arb_Arab',
      'nob_Latn',
      'pes_Arab',
      'hbs',
    ]);
    expect(findLanguage('xx')).toBeUndefined();
    expect(findLanguage('')).toBeUndefined();
  });

  it('treats names of Object.prototype members as unknown codes', () => {
    for (const code of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'constructor-Latn'])
      expect(findLanguage(code), code).toBeUndefined();
  });

  it('answers an unknown lid label with a minimal entry instead of throwing', () => {
    // Act
    const info = fromFasttextLabel('__label__qqq');
    // Assess
    expect(info).toEqual({ flores: undefined, iso639_3: 'qqq', name: 'qqq', script: 'Zyyy', fasttext: 'qqq' });
  });

  it('suggests near codes for a typo', () => {
    // Prepare
    const flores = LANGUAGES.flatMap((l) => (l.flores ? [l.flores] : []));
    // Act + Assess
    expect(nearestCodes('eng_latin', ['eng_Latn', 'fra_Latn', 'deu_Latn'], 2)).toEqual(['eng_Latn']);
    expect(nearestCodes('fra_latm', flores, 3)[0]).toBe('fra_Latn');
    expect(nearestCodes('zho', flores).slice(0, 2)).toEqual(['zho_Hans', 'zho_Hant']);
    expect(nearestCodes('qqqqqqqq', flores)).toEqual([]);
  });
});

describe('nearestCodes on hostile input', () => {
  it('checks the length first: a 1,040,000-character code gets no suggestions, in well under a millisecond a candidate', () => {
    const codes = nllbCodes();
    const started = performance.now();

    const near = nearestCodes('x'.repeat(1_040_000), codes);

    const ms = performance.now() - started;
    expect(near).toEqual([]);
    // Today's code spent ~10 s here (an edit distance per candidate over the whole string).
    expect(ms).toBeLessThan(50);
    expect(nearestCodes('eng_latin', codes, 1)).toEqual(['eng_Latn']);
  });
});
