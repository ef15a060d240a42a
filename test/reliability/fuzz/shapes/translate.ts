import fc from 'fast-check';
import { lang, opt, type RouteShape, record, text, texts } from './common.ts';

/** The valid shapes of the translate function's routes (functions/translate/routes.ts). */
export const TRANSLATE_SHAPES: Record<string, RouteShape> = {
  'POST /v1/translate': {
    body: fc
      .tuple(
        fc.oneof(record({ text: text(600) }), record({ texts: texts(200) })),
        record({
          target_language: lang,
          source_language: opt(fc.oneof(lang, fc.constant('auto'))),
          num_beams: opt(fc.integer({ min: 1, max: 3 })),
          max_new_tokens: opt(fc.integer({ min: 1, max: 12 })),
          split_sentences: opt(fc.boolean()),
          include_token_ids: opt(fc.boolean()),
          model: opt(fc.constantFrom('tiny-nllb', 'tiny-nllb@1')),
        }),
      )
      .map(([a, b]) => ({ ...a, ...b })),
  },
  'GET /v1/languages': {},
  'POST /translate': {
    body: record({
      q: fc.oneof(text(300), fc.array(text(150), { minLength: 1, maxLength: 3 })),
      source: opt(fc.oneof(lang, fc.constant('auto'))),
      target: lang,
      format: opt(fc.constantFrom('text', 'html')),
      api_key: opt(fc.string()),
      alternatives: opt(fc.integer({ min: 0, max: 3 })),
    }),
    form: true,
  },
  'GET /languages': {},
  'GET /frontend/settings': {},
};
