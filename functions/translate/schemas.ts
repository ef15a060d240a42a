import * as z from 'zod';
import { MAX_BEAMS } from '#tasks/translation/index.ts';
import {
  apiKeyField,
  Cached,
  cacheField,
  LibreDetection,
  ModelVersion,
  modelField,
  oneTextOrTexts,
  perConfig,
  RequestId,
  shortString,
  textField,
  textsField,
} from '../schemas.ts';

/** Request and response schemas of the translate function's routes (`routes.ts` says which route takes which). */

const code = (error: string, description: string) => shortString(error, 'a language code').min(1).meta({ description });
const floresFirst = 'must be a language code such as "fra_Latn", "fr" or "fra"';
const isoFirst = 'must be a language code such as "fr", "fra" or "fra_Latn"';
const anyCode = 'FLORES-200 (`fra_Latn`), ISO 639-1 (`fr`) or ISO 639-3 (`fra`)';

export const translateRequests = perConfig(() => ({
  Translate: oneTextOrTexts(
    z.strictObject({
      text: textField().optional(),
      texts: textsField().optional(),
      target_language: code(floresFirst, `The language to translate into: ${anyCode}.`),
      source_language: code(floresFirst, `The texts' language, or "auto" (the default): detected per text.`).optional(),
      num_beams: z
        .number()
        .int()
        .min(1)
        .max(MAX_BEAMS, `must be at most ${MAX_BEAMS}`)
        .optional()
        .meta({ description: 'Beam search width (1: greedy).' }),
      max_new_tokens: z
        .number()
        .int()
        .min(1, 'must be at least 1')
        .optional()
        .meta({ description: 'Upper bound on new tokens per sentence.' }),
      include_token_ids: z
        .boolean()
        .optional()
        .meta({ description: "Add each sentence's decoder token ids (parity checks, debugging)." }),
      split_sentences: z
        .boolean()
        .optional()
        .meta({ description: "false: each text is one model input (it must fit the model's window)." }),
      model: modelField(),
      cache: cacheField(),
    }),
  ),
  /** LibreTranslate's `/translate` (JSON or form-encoded), as its clients send it. */
  Libre: z.object({
    q: z
      .union([textField(), textsField()], { error: 'must be a string or a list of strings' })
      .meta({ description: 'The text, or a list of texts (then `translatedText` is a list in the same order).' }),
    source: code(isoFirst, `The source language, or "auto" (the default).`).default('auto'),
    target: code(isoFirst, `The target language: ${anyCode}.`),
    format: z
      .enum(['text', 'html'], { error: 'must be "text" or "html"' })
      .default('text')
      .meta({ description: '`html`: translate the text nodes, keep the markup byte for byte.' }),
    api_key: apiKeyField(),
    alternatives: z.coerce
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(0, 'must be at least 0')
      .max(MAX_ALTERNATIVES, `must be at most ${MAX_ALTERNATIVES}`)
      .default(0)
      .meta({
        description:
          'Alternative translations wanted: the next hypotheses of a beam search one wider (one-sentence plain texts; none for HTML).',
      }),
  }),
}));

/** LibreTranslate's default `--alternatives-limit`. */
export const MAX_ALTERNATIVES = 3;

const Detected = z.object({ language: z.string(), confidence: z.number() });
export const Translate = z
  .object({
    translations: z.array(
      z.object({
        text: z.string(),
        source_language: z.string().meta({ description: 'FLORES-200 code of the source, given or detected.' }),
        detected: Detected.optional().meta({ description: 'Present when the source was detected.' }),
        token_ids: z.array(z.array(z.number())).optional().meta({ description: 'With include_token_ids.' }),
        cached: Cached,
      }),
    ),
    target_language: z.string().meta({ description: 'FLORES-200 code.' }),
    model: ModelVersion,
    characters: z.number().meta({ description: 'Characters translated (the billing unit).' }),
    requestId: RequestId,
  })
  .meta({ id: 'TranslateResponse' });
export const Language = z
  .object({
    code: z.string().meta({ description: 'FLORES-200' }),
    name: z.string(),
    script: z.string().meta({ description: 'ISO 15924' }),
    iso639_1: z.string().optional(),
    iso639_3: z.string().optional(),
  })
  .meta({ id: 'Language' });
export const LibreTranslate = z
  .object({
    translatedText: z.union([z.string(), z.array(z.string())]),
    detectedLanguage: z
      .union([LibreDetection, z.array(LibreDetection)])
      .optional()
      .meta({ description: 'With `source: "auto"`: one per text for a list.' }),
    alternatives: z
      .union([z.array(z.string()), z.array(z.array(z.string()))])
      .optional()
      .meta({ description: 'With `alternatives` > 0: a list per text for a list.' }),
  })
  .meta({ id: 'LibreTranslateResponse' });
export const Languages = z.object({ languages: z.array(Language) });
export const LibreLanguages = z
  .array(z.object({ code: z.string(), name: z.string(), targets: z.array(z.string()) }))
  .meta({ id: 'LibreLanguages', description: 'ISO 639-1 codes where the language has one.' });
const LibreLanguage = z.object({ code: z.string(), name: z.string() });
export const LibreFrontendSettings = z
  .object({
    charLimit: z.number(),
    frontendTimeout: z.number(),
    apiKeys: z.boolean(),
    keyRequired: z.boolean(),
    suggestions: z.boolean(),
    filesTranslation: z.boolean(),
    supportedFilesFormat: z.array(z.string()),
    language: z.object({ source: LibreLanguage, target: LibreLanguage }),
  })
  .meta({ id: 'LibreFrontendSettings' });
