import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { viaHubModel } from '../hub-model.ts';
import { classifyOrEnsemble } from './answer.ts';
import type { predict } from './routes.ts';

/** `POST /v1/predict/batch`: several texts, answers in input order. */
export const batchRoute: RouteHandlerOf<typeof predict.routes.batch> = ({ body, records, signal }) =>
  viaHubModel(body, 'text-classification', async (served) =>
    json(await classifyOrEnsemble(records, served.texts, served, signal)),
  );
