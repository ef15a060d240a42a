import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { translate } from './routes.ts';
import { languages, libreCode } from './run.ts';

/** LibreTranslate's `GET /languages`: `[{code, name, targets}]`, every language a target of every other. */
export const libreLanguagesRoute: RouteHandlerOf<typeof translate.routes.libreLanguages> = async () => {
  const codes = (await languages()).map((l) => ({ code: libreCode(l.code), name: l.name }));
  return json(codes.map((l) => ({ ...l, targets: codes.map((c) => c.code) })));
};
