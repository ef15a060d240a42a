import { CODE_ALIASES, LANGUAGE_ROWS } from './data.ts';

/**
 * One language as the detect and translate capabilities name it. FLORES-200 codes are the
 * product's canonical codes (NLLB-200 speaks them); lid.176 labels that have no FLORES code
 * keep `flores: undefined` and are still detectable.
 */
export interface LanguageInfo {
  /** FLORES-200 code (`swh_Latn`); undefined only for lid.176 labels without one. */
  readonly flores: string | undefined;
  readonly iso639_1?: string;
  readonly iso639_3: string;
  /** English name. */
  readonly name: string;
  /** ISO 15924 script code (`Latn`, `Cyrl`, `Hans`). */
  readonly script: string;
  /** fastText lid.176 label without `__label__` (`en`, `als`, `arz`). */
  readonly fasttext?: string;
}

const toInfo = ([flores, iso1, iso3, name, script, fasttext]: readonly string[]): LanguageInfo => ({
  flores: flores || undefined,
  ...(iso1 ? { iso639_1: iso1 } : {}),
  iso639_3: iso3 as string,
  name: name as string,
  script: script as string,
  ...(fasttext ? { fasttext } : {}),
});

/**
 * Every language the product knows: the 202 FLORES-200 codes of NLLB-200 plus the lid.176
 * labels that have none (378 labels/codes in 262 rows).
 *
 * @example
 * LANGUAGES.filter((l) => l.flores).length; // => 202
 */
export const LANGUAGES: readonly LanguageInfo[] = Object.freeze(LANGUAGE_ROWS.map((row) => Object.freeze(toInfo(row))));

/** First entry wins, so the table order decides the preferred variant of an ambiguous code. */
const indexBy = (key: (l: LanguageInfo) => string | undefined): Map<string, LanguageInfo> => {
  const map = new Map<string, LanguageInfo>();
  for (const lang of LANGUAGES) {
    const k = key(lang)?.toLowerCase();
    if (k && !map.has(k)) map.set(k, lang);
  }
  return map;
};

const byFlores = indexBy((l) => l.flores);
const byIso1 = indexBy((l) => l.iso639_1);
const byIso3 = indexBy((l) => l.iso639_3);
const byFasttext = indexBy((l) => l.fasttext);
/** BCP 47 regions whose Chinese is written in traditional characters. */
const TRADITIONAL_REGIONS = new Set(['tw', 'hk', 'mo']);

const findPlain = (code: string): LanguageInfo | undefined => {
  // Own keys only: `constructor` or `__proto__` is a caller's unknown code, not Object's.
  const alias = Object.hasOwn(CODE_ALIASES, code) ? CODE_ALIASES[code] : undefined;
  return (
    byFlores.get(code) ??
    (alias ? byFlores.get(alias.toLowerCase()) : undefined) ??
    byIso1.get(code) ??
    byIso3.get(code) ??
    byFasttext.get(code)
  );
};

/**
 * Finds a language by FLORES-200 code (`swh_Latn`), ISO 639-1 (`sw`), ISO 639-3 (`swh`, or the
 * macrolanguage `swa`), a lid.176 label (`sh`, `bh`) or a BCP 47 tag with script or region
 * (`zh-Hant`, `zh-TW`), case-insensitively. Ambiguous codes resolve to the most common variant
 * (`zh` -> `zho_Hans`, `kas` -> `kas_Arab`). Note `als` is ISO 639-3 Tosk Albanian here; the
 * lid.176 label `als` (Alemannic) is read with {@link fromFasttextLabel}.
 *
 * @example
 * findLanguage('sw')?.flores; // => 'swh_Latn'
 * findLanguage('ZH-tw')?.flores; // => 'zho_Hant'
 * findLanguage('xx'); // => undefined
 */
export function findLanguage(code: string): LanguageInfo | undefined {
  const wanted = code.trim().toLowerCase();
  if (!wanted) return undefined;
  const plain = findPlain(wanted);
  if (plain) return plain;
  const [base, sub] = wanted.split(/[-_]/, 2);
  if (!base || !sub) return undefined;
  const lang = findPlain(base);
  if (!lang) return undefined;
  const script = TRADITIONAL_REGIONS.has(sub) ? 'hant' : sub;
  const variant = LANGUAGES.find((l) => l.iso639_3 === lang.iso639_3 && l.script.toLowerCase() === script);
  return variant ?? lang;
}

/**
 * Maps a lid.176 label (`__label__sw` or `sw`) to its language. Never throws: an unknown label
 * (another fastText model) gets a minimal entry whose codes are the label itself, so detection
 * still answers.
 *
 * @example
 * fromFasttextLabel('__label__sw').flores; // => 'swh_Latn'
 * fromFasttextLabel('__label__als').name; // => 'Alemannic German'
 * fromFasttextLabel('__label__zz'); // => { flores: undefined, iso639_3: 'zz', name: 'zz', script: 'Zyyy', fasttext: 'zz' }
 */
export function fromFasttextLabel(label: string): LanguageInfo {
  const bare = label.startsWith('__label__') ? label.slice('__label__'.length) : label;
  const known = byFasttext.get(bare.toLowerCase());
  if (known) return known;
  // Zyyy: ISO 15924 "undetermined script"; the label says nothing about the script.
  return { flores: undefined, iso639_3: bare, name: bare, script: 'Zyyy', fasttext: bare };
}

/** Levenshtein distance; hand-written because it is 15 lines and only short codes are compared. */
const editDistance = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
};

/** No language code is longer: a longer "code" gets no suggestions, and no edit distance is computed for it. */
export const MAX_SUGGESTED_CODE_CHARS = 32;

/**
 * The candidates closest to a mistyped code, for "did you mean" in 400 errors: candidates
 * sharing the code's language prefix first, then by edit distance (case-insensitive); far-off
 * candidates are left out, so the answer may be shorter than `n` or empty. The length is
 * checked first: a code longer than MAX_SUGGESTED_CODE_CHARS gets none, so the work is
 * bounded by (candidates × 32²) whatever the caller sends.
 *
 * @example
 * nearestCodes('eng_latin', ['eng_Latn', 'fra_Latn', 'deu_Latn'], 2); // => ['eng_Latn']
 */
export function nearestCodes(code: string, candidates: readonly string[], n = 5): string[] {
  if (code.length > MAX_SUGGESTED_CODE_CHARS * 2) return [];
  const wanted = code.trim().toLowerCase();
  if (wanted.length > MAX_SUGGESTED_CODE_CHARS) return [];
  const prefix = wanted.split(/[-_]/)[0] ?? '';
  const scored = candidates.map((candidate) => {
    const c = candidate.toLowerCase();
    const cPrefix = c.split(/[-_]/)[0] ?? c;
    const shared = prefix.length >= 2 && (c.startsWith(prefix) || prefix.startsWith(cPrefix));
    // A bare language code (`frn`) is compared with the candidate's language part too.
    const distance = Math.min(editDistance(wanted, c), editDistance(prefix, cPrefix) + (wanted === prefix ? 0 : 1));
    return { candidate, shared, distance };
  });
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  return scored
    .filter((s) => s.shared || s.distance <= limit)
    .sort(
      (x, y) =>
        Number(y.shared) - Number(x.shared) || x.distance - y.distance || x.candidate.localeCompare(y.candidate),
    )
    .slice(0, n)
    .map((s) => s.candidate);
}
