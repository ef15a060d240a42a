import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectLanguages, type LangIdModel, loadLangId, UNDETERMINED } from '#tasks/langid/index.ts';
import { BUNDLE } from '../../../../helpers/langid-reference.ts';

const LOAD_TIMEOUT_MS = 10_000;

describe('detectLanguages', () => {
  let model: LangIdModel;
  beforeAll(async () => {
    model = await loadLangId(BUNDLE, { threads: 1 });
  }, LOAD_TIMEOUT_MS);
  afterAll(async () => {
    await model?.release();
  });

  it('names the top language every way, with topK - 1 alternatives, and und for texts without letters', async () => {
    // Act
    const [fr, none, de, emoji] = await detectLanguages(
      model,
      ['Bonjour tout le monde', '  12:30 ', 'Guten Morgen, wie geht es dir?', '🎉👍'],
      3,
    );
    // Assess
    expect(fr).toMatchObject({ language: 'fr', flores: 'fra_Latn', iso639_1: 'fr', iso639_3: 'fra', name: 'French' });
    expect(fr?.confidence).toBeCloseTo(0.989549, 5);
    expect(fr?.alternatives.map((a) => a.language)).toEqual(['en', 'de']);
    expect(de?.language).toBe('de');
    expect(none).toEqual(UNDETERMINED);
    expect(emoji).toEqual(UNDETERMINED);
  });

  it('uses ISO 639-3 as `language` when a detected language has no ISO 639-1 code', async () => {
    // Act: Cebuano (lid.176 `ceb`) has no two-letter code.
    const [ceb] = await detectLanguages(
      model,
      ['Ang Sugbo usa ka lalawigan sa Pilipinas nga nahimutang sa rehiyon sa Kabisay-an'],
      1,
    );
    // Assess
    expect(ceb).toMatchObject({ language: 'ceb', iso639_1: undefined, flores: 'ceb_Latn', alternatives: [] });
  });
});
