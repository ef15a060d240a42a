import { charactersOf } from '#predictions/units.ts';
import { defineCapability } from '../spec.ts';
import {
  Languages,
  LibreFrontendSettings,
  LibreLanguages,
  LibreTranslate,
  Translate,
  translateRequests,
} from './schemas.ts';

/** The translate function's routes: translation, the language list, and LibreTranslate's three. */
export const translate = defineCapability('translate', {
  description: 'Translation between FLORES-200 languages, source detected when not given.',
  routes: {
    translate: {
      usage: { unit: 'characters', amount: charactersOf, heavy: true },
      method: 'POST',
      path: '/v1/translate',
      hubImport: true,
      summary: 'Translate one or several texts (source detected when not given)',
      description:
        '`model` may also be a Hugging Face id, `org/name` or `org/name@revision`: when the stage allows it (HUB_IMPORT_ALLOW) and the registry does not hold it yet, it is imported as a translation model and the answer is **202** with the import job, `Retry-After` and `Location` (its status URL); repeat the request once the job is `done`. Outside the allowlist: 403; a failed import: 422 with the reason.',
      body: () => translateRequests().Translate,
      response: Translate,
      examples: () => ({
        auto: { summary: 'Detect the source', value: { text: 'Hello, how are you?', target_language: 'fra_Latn' } },
        codes: {
          summary: 'ISO codes, two texts, beam search',
          value: {
            texts: ['Good morning.', 'See you soon.'],
            source_language: 'en',
            target_language: 'sw',
            num_beams: 2,
          },
        },
      }),
    },
    languages: {
      method: 'GET',
      path: '/v1/languages',
      summary: "The languages the model's tokenizer has tokens for",
      response: Languages,
    },
    libreTranslate: {
      usage: { unit: 'characters', amount: charactersOf, heavy: true },
      method: 'POST',
      path: '/translate',
      summary: 'LibreTranslate-compatible translation (JSON or form-encoded)',
      auth: 'headerOrBody',
      errorShape: 'libretranslate',
      form: true,
      body: () => translateRequests().Libre,
      response: LibreTranslate,
      examples: () => ({
        q: { summary: 'Auto source', value: { q: 'Hello world', source: 'auto', target: 'es' } },
        html: {
          summary: 'HTML, as Mastodon sends it',
          value: { q: ['<p>Hello <b>friends</b>!</p>'], source: 'en', target: 'fr', format: 'html' },
        },
      }),
    },
    libreLanguages: {
      method: 'GET',
      path: '/languages',
      summary: 'LibreTranslate-compatible language list (no key needed)',
      auth: 'none',
      errorShape: 'libretranslate',
      response: LibreLanguages,
    },
    libreFrontendSettings: {
      method: 'GET',
      path: '/frontend/settings',
      summary: "LibreTranslate's frontend settings: limits and defaults (no key needed)",
      auth: 'none',
      errorShape: 'libretranslate',
      response: LibreFrontendSettings,
    },
  },
});
