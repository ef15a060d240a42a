import fc from 'fast-check';
import { hostileString, percentEncode } from '../values.ts';
import { lang, opt, type RouteShape, record, text, texts } from './common.ts';

/** The valid shapes of the models function's routes (functions/models/routes.ts). */
export const MODELS_SHAPES: Record<string, RouteShape> = {
  'POST /models/{model}': {
    path: fc
      .oneof(
        fc.constantFrom('tiny-distilbert-sentiment', 'tiny-distilbert-sentiment@2', 'lid176', 'tiny-nllb', 'tiny-gpt2'),
        fc.constantFrom('no-such-model', 'lid176@9', '__proto__', '%00', '%2e%2e', 'UPPER'),
      )
      .map((id) => `/models/${id}`),
    body: record({
      inputs: fc.oneof(text(300), texts(150)),
      parameters: opt(record({ top_k: opt(fc.integer({ min: 1, max: 5 })), src_lang: opt(lang), tgt_lang: opt(lang) })),
    }),
  },
  'GET /models/{model}/status': {
    path: fc
      .oneof(
        fc.constantFrom('tiny-gpt2', 'lid176@1', 'tiny-nllb', 'tiny-distilbert-sentiment@canary'),
        fc.constantFrom('no-such-model', 'tiny-gpt2@9', '__proto__', '%00', '%', 'UPPER'),
        hostileString.filter((s) => s.length > 0).map(percentEncode),
      )
      .map((id) => `/models/${id}/status`),
  },
};
