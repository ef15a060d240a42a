import { fromFasttextLabel, type LanguageInfo } from '../languages/index.ts';
import { hasLetters, type LangIdModel } from './model.ts';

/** One candidate language of a text, named every way the API answers it. */
export interface Detection {
  /** ISO 639-1 when the language has one, else ISO 639-3 (`und` when nothing to detect). */
  language: string;
  flores: string | undefined;
  iso639_1: string | undefined;
  iso639_3: string;
  name: string;
  /** Probability 0..1, as fastText reports it. */
  confidence: number;
}

export interface DetectResult extends Detection {
  /** The next most probable languages, most probable first (`topK - 1` of them). */
  alternatives: Detection[];
}

const toDetection = (info: LanguageInfo, confidence: number): Detection => ({
  language: info.iso639_1 ?? info.iso639_3,
  flores: info.flores,
  iso639_1: info.iso639_1,
  iso639_3: info.iso639_3,
  name: info.name,
  confidence,
});

/** What a text without letters (empty, digits, punctuation, emoji) answers instead of a guess. */
export const UNDETERMINED: DetectResult = Object.freeze({
  language: 'und',
  flores: undefined,
  iso639_1: undefined,
  iso639_3: 'und',
  name: 'Undetermined',
  confidence: 0,
  alternatives: [],
});

/**
 * Detects the language of each text: the most probable language plus `topK - 1` alternatives.
 * Texts without letters answer {@link UNDETERMINED} without running the model; the others go
 * to the model in one batch. Validation (empty input, limits) is the caller's job.
 *
 * @example
 * await detectLanguages(model, ['Habari ya asubuhi', '12:30'], 2);
 * // => [{ language: 'sw', flores: 'swh_Latn', name: 'Swahili', confidence: 0.97, alternatives: [{ language: 'en', ... }] },
 * //     { language: 'und', confidence: 0, alternatives: [], ... }]
 */
export async function detectLanguages(
  model: LangIdModel,
  texts: readonly string[],
  topK: number,
): Promise<DetectResult[]> {
  const answerable = texts.map((t, i) => ({ t, i })).filter(({ t }) => hasLetters(t));
  const predictions = await model.predict(
    answerable.map(({ t }) => t),
    topK,
  );
  const results: DetectResult[] = texts.map(() => UNDETERMINED);
  answerable.forEach(({ i }, j) => {
    const [best, ...rest] = (predictions[j] ?? []).map((p) => toDetection(fromFasttextLabel(p.label), p.probability));
    if (best) results[i] = { ...best, alternatives: rest };
  });
  return results;
}
