import type { ApiRoute } from '#http/api.ts';
import { json } from '#http/response.ts';
import { parseInput } from '#http/validate.ts';
import { translateRequests } from './contract.ts';
import { languages, libreCode, run } from './run.ts';

/** LibreTranslate-compatible routes, so existing LibreTranslate clients work unchanged. */
export const libreRoutes: ApiRoute[] = [
  {
    method: 'POST',
    path: '/translate',
    form: true,
    handler: async (event) => {
      const b = parseInput(translateRequests().Libre, event.body);
      const texts = Array.isArray(b.q) ? b.q : [b.q];
      const out = await run(event, {
        texts,
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
      const single = !Array.isArray(b.q);
      return json({
        translatedText: single ? out.translations[0]!.text : out.translations.map((t) => t.text),
        ...(detected[0] ? { detectedLanguage: single ? detected[0] : detected } : {}),
      });
    },
  },
  {
    method: 'GET',
    path: '/languages',
    handler: async () => {
      const codes = (await languages()).map((l) => ({ code: libreCode(l.code), name: l.name }));
      return json(codes.map((l) => ({ ...l, targets: codes.map((c) => c.code) })));
    },
  },
];
