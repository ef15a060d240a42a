import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { classifyOrEnsemble } from './answer.ts';
import type { predict } from './routes.ts';

/** `POST /v1/predict/batch`: several texts, answers in input order. */
export const batchRoute: RouteHandlerOf<typeof predict.routes.batch> = async ({ body, records, signal }) =>
  json(await classifyOrEnsemble(records, body.texts, body, signal));
