/**
 * The translation task: load a seq2seq translation bundle (NLLB-200, M2M100, Marian),
 * translate batches greedily or with beam search, translate long documents sentence by
 * sentence, and resolve language codes against what the loaded model supports.
 */
export { type DocumentTranslation, localeFor, splitText, type TextPart, translateDocuments } from './documents.ts';
export {
  languageResolver,
  type ResolveLanguageOptions,
  resolveLanguage,
  type SupportedLanguage,
  supportedLanguages,
} from './languages.ts';
export {
  type LoadTranslatorOptions,
  loadTranslator,
  MAX_BEAMS,
  type TranslateOptions,
  type Translation,
  type Translator,
} from './translator.ts';
