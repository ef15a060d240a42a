import { oneOf, ValidationError } from '#runtime/errors.ts';
import { echo } from '#runtime/limits.ts';
import { findLanguage, nearestCodes } from '#tasks/languages/index.ts';

/** How many close matches an "unsupported language" message suggests. */
const SUGGESTIONS = 5;

export interface ResolveLanguageOptions {
  /** The request field the code came from, named in the error (`target_language`). */
  param?: string;
  /** The route that lists the supported languages, named in the error (default `GET /v1/languages`). */
  listedAt?: string;
}

/**
 * Maps a language code in any accepted form to the FLORES-200 code the model uses:
 * FLORES-200 (`swh_Latn`, any letter case), ISO 639-1 (`sw`) or ISO 639-3 (`swh`, and
 * macrolanguages such as `swa` through the language table). A bare ISO 639-3 code that
 * several supported scripts share (`zho`: `zho_Hans`, `zho_Hant`) resolves to the table's
 * preferred script for it, or to the only script the model supports.
 *
 * @throws ValidationError listing the nearest supported codes when nothing matches.
 * @example
 * resolveLanguage('sw', ['eng_Latn', 'swh_Latn']); // => 'swh_Latn'
 * resolveLanguage('SWH_LATN', ['eng_Latn', 'swh_Latn']); // => 'swh_Latn'
 * resolveLanguage('swh_Latm', ['eng_Latn', 'swh_Latn']);
 * // throws ValidationError: Unsupported language code "swh_Latm". Nearest supported codes: ["swh_Latn"]. ...
 */
export const resolveLanguage = (
  code: string,
  supported: readonly string[],
  options: ResolveLanguageOptions = {},
): string => {
  const wanted = code.trim();
  if (supported.includes(wanted)) return wanted;
  const lower = wanted.toLowerCase();
  const caseless = supported.find((s) => s.toLowerCase() === lower);
  if (caseless) return caseless;

  // A FLORES-style code names its script; the table would map an unknown script to the
  // language's default one (`srp_Latn` -> `srp_Cyrl`), translating into a script not asked for.
  const explicitScript = /^[a-z]{3}_[a-z]{4}$/i.test(wanted);
  const info = wanted === '' || explicitScript ? undefined : findLanguage(wanted);
  if (info?.flores && supported.includes(info.flores)) return info.flores;
  // The table knows the language under another script, or not as FLORES at all: take
  // the one supported script variant of its ISO 639-3 code.
  const base = explicitScript
    ? undefined
    : (info?.iso639_3 ?? (/^[a-z]{3}$/.test(lower) ? lower : undefined))?.toLowerCase();
  if (base) {
    const variants = supported.filter((s) => s.toLowerCase().startsWith(`${base}_`));
    if (variants.length === 1) return variants[0] as string;
  }

  const field = options.param ? `${options.param}: ` : '';
  const suggestions = wanted === '' ? supported.slice(0, SUGGESTIONS) : nearestCodes(wanted, supported, SUGGESTIONS);
  const near =
    suggestions.length > 0 ? `Nearest supported codes: ${oneOf(suggestions)}.` : 'No supported code is close to it.';
  throw new ValidationError(
    `${field}${wanted === '' ? 'Missing language code.' : `Unsupported language code ${JSON.stringify(echo(wanted))}.`} ${near} ` +
      'Use a FLORES-200 code such as "swh_Latn", ISO 639-1 ("sw") or ISO 639-3 ("swh"); ' +
      `${options.listedAt ?? 'GET /v1/languages'} lists all ${supported.length} supported languages.`,
    { param: options.param, details: { code: echo(wanted), suggestions } },
  );
};

/**
 * The one way the translate task resolves request codes against a model: `resolveLanguage`
 * over the model's supported codes, remembering each (code, param) it resolved (a batch of
 * detected sources repeats a few codes). A model that lists no languages (a fixed pair of
 * unknown languages) takes every code as given.
 *
 * @example
 * const resolve = languageResolver(['eng_Latn', 'fra_Latn']);
 * resolve('fr', 'target_language'); // => 'fra_Latn'
 * resolve('xx', 'source'); // throws ValidationError: source: Unsupported language code "xx". ...
 * languageResolver([])('xx', 'source'); // => 'xx'
 */
export const languageResolver = (
  supported: readonly string[],
  listedAt?: string,
): ((code: string, param: string) => string) => {
  const resolved = new Map<string, string>();
  return (code, param) => {
    if (supported.length === 0) return code;
    const key = `${param}\u0000${code}`;
    const known = resolved.get(key);
    if (known !== undefined) return known;
    const flores = resolveLanguage(code, supported, { param, listedAt });
    resolved.set(key, flores);
    return flores;
  };
};

export interface SupportedLanguage {
  /** FLORES-200 code, what the API answers with. */
  code: string;
  /** English name from the language table (the code itself when the table does not know it). */
  name: string;
  /** ISO 15924 script (`Latn`). */
  script: string;
  iso639_1?: string;
  iso639_3?: string;
}

/**
 * The languages a translator supports, joined with the language table: code, name,
 * script and ISO codes, sorted by code.
 *
 * @example
 * supportedLanguages(translator).slice(0, 2);
 * // => [{ code: 'ace_Arab', name: 'Acehnese', script: 'Arab', iso639_3: 'ace' }, { code: 'ace_Latn', ... }]
 */
export const supportedLanguages = (translator: { languages(): string[] }): SupportedLanguage[] =>
  translator
    .languages()
    .map((code) => {
      const info = findLanguage(code);
      const [base, script = ''] = code.split('_');
      const entry: SupportedLanguage = {
        code,
        name: info?.name ?? code,
        script: info && info.flores === code ? info.script : script,
      };
      const iso639_1 = info?.iso639_1;
      const iso639_3 = info?.iso639_3 ?? (base && /^[a-z]{3}$/.test(base) ? base : undefined);
      if (iso639_1) entry.iso639_1 = iso639_1;
      if (iso639_3) entry.iso639_3 = iso639_3;
      return entry;
    })
    .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
