import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { translate } from './routes.ts';
import { languages } from './run.ts';

/** `GET /v1/languages`: the languages the default model's tokenizer has tokens for. */
export const languagesRoute: RouteHandlerOf<typeof translate.routes.languages> = async () =>
  json({ languages: await languages() });
