import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { viaHubModel } from '../hub-model.ts';
import { classifyOrEnsemble } from './answer.ts';
import type { predict } from './routes.ts';

/** `POST /v1/predict`: one text, one model or an ensemble. */
export const predictRoute: RouteHandlerOf<typeof predict.routes.predict> = ({ body, records, signal }) =>
  viaHubModel(body, 'text-classification', async (served) => {
    const { results, ...rest } = await classifyOrEnsemble(records, [served.text], served, signal);
    return json({ ...results[0]!, ...rest });
  });
