import { z } from 'zod';
import { httpApi } from '#http/api.ts';
import { json } from '#http/response.ts';
import { parseInput } from '#http/validate.ts';
import { MAX_BEAMS } from '#tasks/translation/index.ts';
import { modelField, textField, textsField } from '../shared.ts';
import { libreRoutes } from './libre.ts';
import { languages, run } from './run.ts';

const code = z.string({ error: 'must be a language code such as "fra_Latn", "fr" or "fra"' }).min(1);
const Translate = z
  .strictObject({
    text: textField().optional(),
    texts: textsField().optional(),
    target_language: code,
    source_language: code.optional(),
    num_beams: z.number().int().min(1).max(MAX_BEAMS, `must be at most ${MAX_BEAMS}`).optional(),
    max_new_tokens: z.number().int().min(1, 'must be at least 1').optional(),
    /** Adds each sentence's decoder token ids (parity checks, debugging). */
    include_token_ids: z.boolean().optional(),
    /** false: translate each text as one model input (it must fit the model's window). */
    split_sentences: z.boolean().optional(),
    model: modelField(),
  })
  .refine(
    (b) => (b.text === undefined) !== (b.texts === undefined),
    'send either "text" (one string) or "texts" (a list)',
  );
export const handler = httpApi([
  {
    method: 'POST',
    path: '/v1/translate',
    handler: async (event) => {
      const b = parseInput(Translate, event.body);
      const texts = b.texts ?? [b.text!];
      const out = await run(event, {
        texts,
        target: b.target_language,
        source: b.source_language,
        numBeams: b.num_beams,
        maxNewTokens: b.max_new_tokens,
        splitSentences: b.split_sentences,
        model: b.model,
        params: { source: 'source_language', target: 'target_language' },
      });
      const translations = out.translations.map(({ source, tokenIds, ...t }) => ({
        ...t,
        source_language: source,
        ...(b.include_token_ids ? { token_ids: tokenIds } : {}),
      }));
      return json({
        translations,
        target_language: out.target,
        model: out.model,
        characters: out.characters,
        requestId: out.requestId,
      });
    },
  },
  { method: 'GET', path: '/v1/languages', handler: async () => json({ languages: await languages() }) },
  ...libreRoutes,
]);
