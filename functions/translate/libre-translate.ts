import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { translate } from './routes.ts';
import { libreCode, translateAndLog } from './run.ts';

/**
 * LibreTranslate's `POST /translate`, answered as LibreTranslate answers: `translatedText`
 * (a list for a list), `detectedLanguage` with `source: "auto"` (confidence in percent),
 * `alternatives` when asked for: the next hypotheses of the beam search, for a text of
 * one sentence in `text` format (empty otherwise, as LibreTranslate does for HTML).
 */
export const libreTranslateRoute: RouteHandlerOf<typeof translate.routes.libreTranslate> = async ({
  body: b,
  records,
  signal,
}) => {
  const texts = Array.isArray(b.q) ? b.q : [b.q];
  const single = !Array.isArray(b.q);
  const out = await translateAndLog(records, {
    texts,
    target: b.target,
    source: b.source,
    format: b.format,
    alternatives: b.alternatives,
    params: { source: 'source', target: 'target', listedAt: 'GET /languages' },
    signal,
  });
  const detected = out.translations.map(
    (t) =>
      t.detected && {
        language: libreCode(t.detected.language),
        confidence: Math.round(t.detected.confidence * 10_000) / 100,
      },
  );
  const alternatives = out.translations.map((t) => t.alternatives ?? []);
  return json({
    translatedText: single ? out.translations[0]!.text : out.translations.map((t) => t.text),
    ...(detected[0] ? { detectedLanguage: single ? detected[0] : detected } : {}),
    ...(b.alternatives > 0 ? { alternatives: single ? alternatives[0] : alternatives } : {}),
  });
};
