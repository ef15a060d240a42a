import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { translate } from './routes.ts';
import { libreCode, translateAndLog } from './run.ts';

/**
 * LibreTranslate's `POST /translate`, answered as LibreTranslate answers: `translatedText`
 * (a list for a list), `detectedLanguage` with `source: "auto"` (confidence in percent),
 * `alternatives` when asked for. Alternatives are always empty: beam search here keeps
 * only the best hypothesis per sentence (README, LibreTranslate).
 */
export const libreTranslateRoute: RouteHandlerOf<typeof translate.routes.libreTranslate> = async ({
  body: b,
  records,
}) => {
  const texts = Array.isArray(b.q) ? b.q : [b.q];
  const single = !Array.isArray(b.q);
  const out = await translateAndLog(records, {
    texts,
    target: b.target,
    source: b.source,
    format: b.format,
    params: { source: 'source', target: 'target', listedAt: 'GET /languages' },
  });
  const detected = out.translations.map(
    (t) =>
      t.detected && {
        language: libreCode(t.detected.language),
        confidence: Math.round(t.detected.confidence * 10_000) / 100,
      },
  );
  return json({
    translatedText: single ? out.translations[0]!.text : out.translations.map((t) => t.text),
    ...(detected[0] ? { detectedLanguage: single ? detected[0] : detected } : {}),
    ...(b.alternatives > 0 ? { alternatives: single ? [] : texts.map((): string[] => []) } : {}),
  });
};
