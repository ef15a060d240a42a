import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { translate } from './routes.ts';
import { libreCode, translateAndLog } from './run.ts';

/** LibreTranslate's `POST /translate`, so existing LibreTranslate clients work unchanged. */
export const libreTranslateRoute: RouteHandlerOf<typeof translate.routes.libreTranslate> = async ({
  body: b,
  records,
}) => {
  const single = !Array.isArray(b.q);
  const out = await translateAndLog(records, {
    texts: Array.isArray(b.q) ? b.q : [b.q],
    target: b.target,
    source: b.source,
    params: { source: 'source', target: 'target' },
  });
  const detected = out.translations.map(
    (t) =>
      t.detected && {
        language: libreCode(t.detected.language),
        confidence: Math.round(t.detected.confidence * 100),
      },
  );
  return json({
    translatedText: single ? out.translations[0]!.text : out.translations.map((t) => t.text),
    ...(detected[0] ? { detectedLanguage: single ? detected[0] : detected } : {}),
  });
};
