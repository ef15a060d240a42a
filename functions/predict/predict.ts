import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { classifyOrEnsemble } from './answer.ts';
import type { predict } from './routes.ts';

/** `POST /v1/predict`: one text, one model or an ensemble. */
export const predictRoute: RouteHandlerOf<typeof predict.routes.predict> = async ({ body, records, signal }) => {
  const { results, ...rest } = await classifyOrEnsemble(records, [body.text], body, signal);
  return json({ ...results[0]!, ...rest });
};
