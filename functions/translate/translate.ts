import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { viaHubModel } from '../hub-model.ts';
import type { translate } from './routes.ts';
import { translateAndLog } from './run.ts';

/** `POST /v1/translate`: one text or several, source given or detected per text. */
export const translateRoute: RouteHandlerOf<typeof translate.routes.translate> = ({ body, records, signal }) =>
  viaHubModel(body, 'translation', async (b) => {
    const out = await translateAndLog(records, {
      texts: b.texts ?? [b.text!],
      target: b.target_language,
      source: b.source_language,
      numBeams: b.num_beams,
      maxNewTokens: b.max_new_tokens,
      splitSentences: b.split_sentences,
      model: b.model,
      cache: b.cache,
      params: { source: 'source_language', target: 'target_language' },
      signal,
    });
    const translations = out.translations.map(({ source, tokenIds, target: _target, ...t }) => ({
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
  });
