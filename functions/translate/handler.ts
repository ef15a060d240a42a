import { httpApi } from '#http/api.ts';
import { json } from '#http/response.ts';
import { parseInput } from '#http/validate.ts';
import { translateRequests } from './contract.ts';
import { libreRoutes } from './libre.ts';
import { languages, run } from './run.ts';

export const handler = httpApi([
  {
    method: 'POST',
    path: '/v1/translate',
    handler: async (event) => {
      const b = parseInput(translateRequests().Translate, event.body);
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
