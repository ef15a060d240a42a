import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { detect } from './routes.ts';
import { detectAndLog } from './run.ts';

/** LibreTranslate's `POST /detect`: `[{language, confidence}]`, ISO 639-1 codes, confidence in percent. */
export const libreDetectRoute: RouteHandlerOf<typeof detect.routes.libreDetect> = async ({ body, records }) => {
  const [r] = (await detectAndLog(records, [body.q], 3)).results;
  const candidates = r!.language === 'und' ? [r!] : [r!, ...r!.alternatives];
  return json(candidates.map((c) => ({ language: c.language, confidence: Math.round(c.confidence * 10_000) / 100 })));
};
