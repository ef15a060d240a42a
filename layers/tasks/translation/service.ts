import { ValidationError } from '#runtime/errors.ts';
import type { ModelRuntime } from '#runtime/models.ts';
import { detect } from '#tasks/langid/service.ts';
import { fromFasttextLabel } from '#tasks/languages/index.ts';
import { type HtmlPlan, planHtml } from './html.ts';
import { languageResolver, loadTranslator, type Translator, translateDocuments } from './index.ts';

export interface TranslateRequest {
  texts: string[];
  target: string;
  /** Missing or `auto`: detected per text with the language-identification model. */
  source?: string;
  numBeams?: number;
  /** Alternative translations wanted per text (plain text only; an HTML fragment gets none). */
  alternatives?: number;
  /** Upper bound on new tokens per sentence (the length rule may lower it). */
  maxNewTokens?: number;
  /** false: each text is one model input, as in a plain HF pipeline call (must fit the window). */
  splitSentences?: boolean;
  model: string;
  detectModel: string;
  /** `html`: each text is an HTML fragment; its text nodes are translated, its markup kept byte for byte. */
  format?: 'text' | 'html';
  /** Request field names for error messages (`target_language` or LibreTranslate's `target`). */
  params: { source: string; target: string; listedAt?: string };
  /** The invocation's (deadline, client gone): the decoders stop at their next step when it aborts. */
  signal?: AbortSignal;
}

export interface TranslateOutcome {
  model: { name: string; version: string };
  target: string;
  translations: Array<{
    text: string;
    source: string;
    detected?: { language: string; confidence: number };
    /** Decoder token ids of each translated sentence. */
    tokenIds: number[][];
    /** With `alternatives`: the next-best translations (none for HTML or a text of several sentences). */
    alternatives?: string[];
  }>;
  characters: number;
  inferenceMs: number;
}

/** Loads a translation model by reference (memory → EFS → S3). */
export const loadTranslation = (runtime: ModelRuntime, ref: string) =>
  runtime.load<Translator>(ref, 'translation', (b) => loadTranslator(b));

/**
 * The work of the translate routes: resolve the codes against what the model supports,
 * detect missing sources per text (lid.176 → FLORES-200), translate long texts sentence
 * by sentence as one batch, keep input order.
 *
 * @example
 * const out = await translate(runtime, { texts: ['Hello'], target: 'fr', model: 'tiny-nllb', detectModel: 'lid176', params });
 * out.translations[0].source; // => 'eng_Latn' (detected)
 */
export const translate = async (runtime: ModelRuntime, req: TranslateRequest): Promise<TranslateOutcome> => {
  const loaded = await loadTranslation(runtime, req.model);
  const supported = loaded.value.languages();
  const resolve = languageResolver(supported, req.params.listedAt);
  const target = resolve(req.target, req.params.target);
  const auto = req.source === undefined || req.source.trim().toLowerCase() === 'auto';
  const plans: HtmlPlan[] | undefined = req.format === 'html' ? req.texts.map(planHtml) : undefined;
  // An HTML fragment's language is its text's, detected once for the whole fragment.
  const detectTexts = plans ? plans.map((p, i) => p.text || req.texts[i]!) : req.texts;
  const detected = auto ? (await detect(runtime, req.detectModel, detectTexts, 1)).results : undefined;
  const sources = req.texts.map((_, i) => {
    if (!auto) return resolve(req.source!, req.params.source);
    // Markup with no text to translate (`<br>`, a lone link) needs no source.
    if (plans?.[i]?.texts.length === 0) return target;
    const d = detected![i]!;
    const flores = d.flores ?? fromFasttextLabel(d.language).flores;
    if (!flores || (supported.length && !supported.includes(flores))) {
      throw new ValidationError(
        `${req.params.source}: could not detect a supported source language for text ${i} (detected ${JSON.stringify(d.language)}, confidence ${d.confidence.toFixed(2)}); give ${req.params.source} explicitly.`,
        { param: req.params.source },
      );
    }
    return flores;
  });
  const started = performance.now();
  const options = {
    source: sources,
    target,
    numBeams: req.numBeams,
    maxNewTokens: req.maxNewTokens,
    // HTML is translated node by node: a fragment's alternatives would be combinations.
    alternatives: plans ? undefined : req.alternatives,
    signal: req.signal,
  };
  const run = async (texts: string[], source: string[]) =>
    req.splitSentences === false
      ? (await loaded.value.translate(texts, { ...options, source })).map((t) => ({
          text: t.text,
          tokenIds: [t.tokenIds],
          alternatives: t.alternatives,
        }))
      : await translateDocuments(loaded.value, texts, { ...options, source });
  const out: Array<{ text: string; tokenIds: number[][]; alternatives?: string[] }> = plans
    ? await translatePlans(plans, sources, run)
    : await run(req.texts, sources);
  return {
    model: { name: loaded.name, version: loaded.version },
    target,
    translations: out.map((t, i) => ({
      text: t.text,
      source: sources[i]!,
      tokenIds: t.tokenIds,
      ...(req.alternatives ? { alternatives: t.alternatives ?? [] } : {}),
      ...(detected ? { detected: { language: sources[i]!, confidence: detected[i]!.confidence } } : {}),
    })),
    characters: req.texts.reduce((n, t) => n + t.length, 0),
    inferenceMs: performance.now() - started,
  };
};

/**
 * Translates the texts of HTML plans as one batch (each with its fragment's source) and
 * renders each fragment with its translations; token ids are the fragment's sentences'.
 */
const translatePlans = async (
  plans: HtmlPlan[],
  sources: string[],
  run: (texts: string[], sources: string[]) => Promise<Array<{ text: string; tokenIds: number[][] }>>,
): Promise<Array<{ text: string; tokenIds: number[][] }>> => {
  const texts = plans.flatMap((p) => p.texts);
  const out = texts.length
    ? await run(
        texts,
        plans.flatMap((p, i) => p.texts.map(() => sources[i]!)),
      )
    : [];
  let next = 0;
  return plans.map((p) => {
    const mine = out.slice(next, next + p.texts.length);
    next += p.texts.length;
    return { text: p.render(mine.map((t) => t.text)), tokenIds: mine.flatMap((t) => t.tokenIds) };
  });
};
