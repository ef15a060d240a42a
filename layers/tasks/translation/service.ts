import { ValidationError } from '#runtime/errors.ts';
import type { ModelRuntime } from '#runtime/models.ts';
import { detect } from '#tasks/langid/service.ts';
import { fromFasttextLabel } from '#tasks/languages/index.ts';
import { languageResolver, loadTranslator, type Translator, translateDocuments } from './index.ts';

export interface TranslateRequest {
  texts: string[];
  target: string;
  /** Missing or `auto`: detected per text with the language-identification model. */
  source?: string;
  numBeams?: number;
  /** Upper bound on new tokens per sentence (the length rule may lower it). */
  maxNewTokens?: number;
  /** false: each text is one model input, as in a plain HF pipeline call (must fit the window). */
  splitSentences?: boolean;
  model: string;
  detectModel: string;
  /** Request field names for error messages (`target_language` or LibreTranslate's `target`). */
  params: { source: string; target: string };
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
  const resolve = languageResolver(supported);
  const target = resolve(req.target, req.params.target);
  const auto = req.source === undefined || req.source.trim().toLowerCase() === 'auto';
  const detected = auto ? (await detect(runtime, req.detectModel, req.texts, 1)).results : undefined;
  const sources = req.texts.map((_, i) => {
    if (!auto) return resolve(req.source!, req.params.source);
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
  const options = { source: sources, target, numBeams: req.numBeams, maxNewTokens: req.maxNewTokens };
  const out =
    req.splitSentences === false
      ? (await loaded.value.translate(req.texts, options)).map((t) => ({ text: t.text, tokenIds: [t.tokenIds] }))
      : await translateDocuments(loaded.value, req.texts, options);
  return {
    model: { name: loaded.name, version: loaded.version },
    target,
    translations: out.map((t, i) => ({
      text: t.text,
      source: sources[i]!,
      tokenIds: t.tokenIds,
      ...(detected ? { detected: { language: sources[i]!, confidence: detected[i]!.confidence } } : {}),
    })),
    characters: req.texts.reduce((n, t) => n + t.length, 0),
    inferenceMs: performance.now() - started,
  };
};
