import { findLanguage } from '#tasks/languages/index.ts';
import { languageResolver } from './languages.ts';
import type { TranslateOptions, Translator } from './translator.ts';

export interface DocumentTranslation {
  /** The translated text, with the source's line and paragraph breaks kept exactly. */
  text: string;
  /** How many pieces (sentences, or chunks of overlong sentences) were translated. */
  segments: number;
  /** Encoder tokens over all pieces (with special tokens). */
  inputTokens: number;
  /** Generated tokens over all pieces (without the decoder start token). */
  outputTokens: number;
  /** The full decoder sequence of each piece, in order (for parity checks and debugging). */
  tokenIds: number[][];
  /**
   * With `alternatives`: the text with its one piece's alternatives in its place. A text of
   * several pieces has none (an n-best list per sentence does not rank whole texts).
   */
  alternatives?: string[];
}

/** Scripts written without spaces between sentences or words. */
const NO_SPACE_SCRIPTS = new Set(['Hans', 'Hant', 'Jpan', 'Thai', 'Laoo', 'Khmr', 'Mymr', 'Tibt']);

const scriptOf = (code: string): string | undefined => code.split('_')[1] ?? findLanguage(code)?.script;

/** BCP 47 tag for `Intl.Segmenter` from a FLORES / ISO code (`zho_Hans` -> `zh-Hans`). */
export const localeFor = (code: string): string | undefined => {
  const info = findLanguage(code);
  const language = info?.iso639_1 ?? info?.iso639_3 ?? code.split('_')[0];
  const script = scriptOf(code);
  const tag = script ? `${language}-${script}` : language;
  if (!tag) return undefined;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
};

/** A piece of a text: either sent to the model, or kept verbatim. */
export type TextPart =
  | { kind: 'translate'; text: string }
  | { kind: 'keep'; text: string }
  | { kind: 'join'; text: string };

/**
 * Splits `text` at the boundary nearest its middle: whitespace first, then word
 * boundaries (languages without spaces), then grapheme clusters. Returns the two
 * halves and the separator between them ('' when the split is inside a run of letters).
 */
const halve = (text: string, locale: string | undefined): [string, string, string] | undefined => {
  const middle = text.length / 2;
  let best: { at: number; end: number } | undefined;
  for (const m of text.matchAll(/\s+/g)) {
    const at = m.index;
    if (at === 0 || at + m[0].length === text.length) continue;
    if (!best || Math.abs(at - middle) < Math.abs(best.at - middle)) best = { at, end: at + m[0].length };
  }
  if (!best) {
    for (const granularity of ['word', 'grapheme'] as const) {
      for (const s of new Intl.Segmenter(locale, { granularity }).segment(text)) {
        if (s.index === 0) continue;
        if (!best || Math.abs(s.index - middle) < Math.abs(best.at - middle)) best = { at: s.index, end: s.index };
      }
      if (best) break;
    }
  }
  if (!best) return undefined;
  return [text.slice(0, best.at), text.slice(best.at, best.end), text.slice(best.end)];
};

/**
 * Cuts an overlong sentence into pieces the model can read, halving at the most central
 * boundary until each fits `maxTokens`, so the pieces stay balanced. Hand-written:
 * no library splits text by a tokenizer's count.
 */
const fitToTokens = (
  sentence: string,
  maxTokens: number,
  count: (t: string) => number,
  locale?: string,
): TextPart[] => {
  if (count(sentence) <= maxTokens) return [{ kind: 'translate', text: sentence }];
  const parts = halve(sentence, locale);
  // A single grapheme over the limit cannot be cut further; the model reports it.
  if (!parts) return [{ kind: 'translate', text: sentence }];
  const [left, separator, right] = parts;
  return [
    ...fitToTokens(left, maxTokens, count, locale),
    { kind: 'join', text: separator },
    ...fitToTokens(right, maxTokens, count, locale),
  ];
};

/**
 * Splits one text into parts: line breaks (with the whitespace around them) are kept
 * verbatim, each line is cut into sentences by `Intl.Segmenter` in the source locale,
 * and overlong sentences are cut further by {@link fitToTokens}.
 */
export const splitText = (
  text: string,
  locale: string | undefined,
  maxTokens: number,
  count: (t: string) => number,
): TextPart[] => {
  const parts: TextPart[] = [];
  const sentences = new Intl.Segmenter(locale, { granularity: 'sentence' });
  // The capture group keeps each separator (a newline with surrounding whitespace) in the result.
  text.split(/(\s*\n\s*)/).forEach((line, i) => {
    if (i % 2 === 1 || line.trim() === '') {
      if (line !== '') parts.push({ kind: 'keep', text: line });
      return;
    }
    const lead = /^\s*/.exec(line)?.[0] ?? '';
    if (lead) parts.push({ kind: 'keep', text: lead });
    // The whitespace after a sentence joins it to the next one, or ends the line.
    let trail: string | undefined;
    for (const { segment } of sentences.segment(line.slice(lead.length))) {
      const core = segment.trimEnd();
      if (core === '') {
        trail = (trail ?? '') + segment;
        continue;
      }
      if (trail !== undefined) parts.push({ kind: 'join', text: trail });
      parts.push(...fitToTokens(core, maxTokens, count, locale));
      trail = segment.slice(core.length);
    }
    if (trail) parts.push({ kind: 'keep', text: trail });
  });
  return parts;
};

/** New tokens a whole text may produce: twice its own tokens, plus room for one short answer. */
export const textBudget = (contentTokens: number): number => 2 * contentTokens + 10;

/**
 * Each piece's share of its text's output budget ({@link textBudget} over the text's
 * content tokens, the template's language tokens not counted), in proportion to its own
 * content tokens, plus the forced language token: 5,000 characters of one-word sentences
 * get about twice their tokens back, not ten more tokens per sentence.
 */
const sharedBudgets = (docs: ReadonlyArray<readonly TextPart[]>, translator: Translator): number[] => {
  const overhead = translator.countTokens('');
  const budgets: number[] = [];
  for (const parts of docs) {
    const content = parts
      .filter((p) => p.kind === 'translate')
      .map((p) => Math.max(1, translator.countTokens(p.text) - overhead));
    const total = content.reduce((n, c) => n + c, 0);
    for (const c of content) budgets.push(2 + Math.floor((textBudget(total) * c) / total));
  }
  return budgets;
};

/**
 * Translates texts of any length: each is split into lines and sentences (in the source
 * language's locale), overlong sentences are cut to fit the model, every piece of every
 * text is translated in one call (so the translator mini-batches them together), and the
 * pieces are joined back with the original line and paragraph breaks. Between sentences
 * the source spacing is kept, dropped for targets written without spaces (Chinese,
 * Japanese, Thai, ...) and added when the source had none. `options.source` may give
 * one language per text (detected languages); all pieces still share the batches.
 *
 * @example
 * const [doc] = await translateDocuments(translator, ['First sentence. Second one.\n\nNew paragraph.'],
 *   { source: 'eng_Latn', target: 'fra_Latn' });
 * // => { text: 'Première phrase. La seconde.\n\nNouveau paragraphe.', segments: 3, inputTokens: 17, outputTokens: 16 }
 */
export const translateDocuments = async (
  translator: Translator,
  texts: readonly string[],
  options: TranslateOptions,
): Promise<DocumentTranslation[]> => {
  if (typeof options.source !== 'string' && options.source.length !== texts.length) {
    throw new Error(
      `translateDocuments: ${options.source.length} source codes for ${texts.length} texts; give one per text.`,
    );
  }
  const resolve = languageResolver(translator.languages());
  const target = resolve(options.target, 'target_language');
  const sources = texts.map((_, i) =>
    resolve(typeof options.source === 'string' ? options.source : (options.source[i] ?? ''), 'source_language'),
  );
  const count = (t: string) => translator.countTokens(t);
  const docs = texts.map((text, i) =>
    splitText(text, localeFor(sources[i] as string), translator.maxSourceTokens, count),
  );
  const pieces: string[] = [];
  const pieceSources: string[] = [];
  docs.forEach((parts, i) => {
    for (const p of parts) {
      if (p.kind !== 'translate') continue;
      pieces.push(p.text);
      pieceSources.push(sources[i] as string);
    }
  });
  const translated = await translator.translate(pieces, {
    ...options,
    source: pieceSources,
    target,
    maxNewTokensEach: sharedBudgets(docs, translator),
  });
  const noSpaces = NO_SPACE_SCRIPTS.has(scriptOf(target) ?? '');

  let next = 0;
  return docs.map((parts) => {
    let text = '';
    let segments = 0;
    let inputTokens = 0;
    let outputTokens = 0;
    const tokenIds: number[][] = [];
    const pieces = parts.filter((p) => p.kind === 'translate').length;
    // The piece's translation and where it starts, to put each alternative in its place.
    let only: { at: number; alternatives?: string[]; length: number } | undefined;
    for (const part of parts) {
      if (part.kind === 'keep') text += part.text;
      else if (part.kind === 'join') text += noSpaces ? '' : part.text === '' ? ' ' : part.text;
      else {
        const t = translated[next++];
        only = { at: text.length, alternatives: t?.alternatives, length: t?.text.length ?? 0 };
        text += t?.text ?? '';
        segments++;
        inputTokens += count(part.text);
        outputTokens += Math.max(0, (t?.tokenIds.length ?? 1) - 1);
        tokenIds.push(t?.tokenIds ?? []);
      }
    }
    const alternatives =
      options.alternatives && options.alternatives > 0
        ? pieces === 1 && only
          ? (only.alternatives ?? []).map((a) => text.slice(0, only!.at) + a + text.slice(only!.at + only!.length))
          : []
        : undefined;
    return { text, segments, inputTokens, outputTokens, tokenIds, ...(alternatives ? { alternatives } : {}) };
  });
};
