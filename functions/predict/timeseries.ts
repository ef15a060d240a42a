import { json } from '#http/response.ts';
import { parseRange, timeseries } from '#predictions/analytics.ts';
import { scopeOf } from '#predictions/scope.ts';
import { config } from '#runtime/config.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { analyticsDb, analyticsModel } from './analytics.ts';
import type { predict } from './routes.ts';

/** `GET /v1/analytics/timeseries?model=&bucket=hour|day&from=&to=&limit=&nextToken=` */
export const timeseriesRoute: RouteHandlerOf<typeof predict.routes.timeseries> = async ({ query, event }) => {
  const range = parseRange(query.from, query.to);
  const model = await analyticsModel(query.model);
  const page = await timeseries(analyticsDb(), config().PREDICTIONS_TABLE, {
    model,
    range,
    bucket: query.bucket,
    limit: query.limit,
    nextToken: query.nextToken,
    scope: scopeOf(event.requestContext.identity?.apiKeyId, query.outcome),
  });
  return json({ model, bucket: query.bucket, from: range.from.toISOString(), to: range.to.toISOString(), ...page });
};
