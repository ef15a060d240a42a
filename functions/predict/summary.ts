import { json } from '#http/response.ts';
import { parseRange, summary } from '#predictions/analytics.ts';
import { scopeOf } from '#predictions/scope.ts';
import { config } from '#runtime/config.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { analyticsDb, analyticsModel } from './analytics.ts';
import type { predict } from './routes.ts';

/** `GET /v1/analytics/summary?model=&from=&to=` */
export const summaryRoute: RouteHandlerOf<typeof predict.routes.summary> = async ({ query, event }) => {
  const range = parseRange(query.from, query.to);
  const model = await analyticsModel(query.model);
  const scope = scopeOf(event.requestContext.identity?.apiKeyId, query.outcome);
  const out = await summary(analyticsDb(), config().PREDICTIONS_TABLE, { model, range, scope });
  return json({ model, from: range.from.toISOString(), to: range.to.toISOString(), ...out });
};
