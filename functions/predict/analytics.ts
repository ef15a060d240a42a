import { json } from '#http/response.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';
import { parseInput } from '#http/validate.ts';
import { parseRange, summary, timeseries } from '#predictions/analytics.ts';
import { makeDocumentClient } from '#predictions/client.ts';
import { config } from '#runtime/config.ts';
import { oneOf, UnknownModelError } from '#runtime/errors.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { predictRequests } from './contract.ts';

/** Ensembles log under this model name (see docs/prediction-log.md). */
const ENSEMBLE_MODEL = 'ensemble';

let client: ReturnType<typeof makeDocumentClient> | undefined;
const db = () => {
  client ??= makeDocumentClient(config());
  return client;
};

/** The model asked about: a known text-classification model name, or `ensemble`. */
const modelOf = async (model: string | undefined): Promise<string> => {
  const name = model ?? parseModelRef(config().DEFAULT_PREDICT_MODEL).name;
  if (name === ENSEMBLE_MODEL) return name;
  const known = (await modelRuntime().registry.list('text-classification')).map((m) => m.name);
  if (!known.includes(name)) {
    throw new UnknownModelError(
      `Unknown model ${JSON.stringify(name)}. Use one of ${oneOf([...known, ENSEMBLE_MODEL])}.`,
    );
  }
  return name;
};

/** `GET /v1/analytics/summary?model=&from=&to=` */
export const summaryRoute = async (event: ApiEvent): Promise<ApiResult> => {
  const q = parseInput(predictRequests().Summary, event.queryStringParameters ?? {});
  const range = parseRange(q.from, q.to);
  const model = await modelOf(q.model);
  const out = await summary(db(), config().PREDICTIONS_TABLE, { model, range });
  return json({ model, from: range.from.toISOString(), to: range.to.toISOString(), ...out });
};

/** `GET /v1/analytics/timeseries?model=&bucket=hour|day&from=&to=&limit=&nextToken=` */
export const timeseriesRoute = async (event: ApiEvent): Promise<ApiResult> => {
  const q = parseInput(predictRequests().Timeseries, event.queryStringParameters ?? {});
  const range = parseRange(q.from, q.to);
  const model = await modelOf(q.model);
  const page = await timeseries(db(), config().PREDICTIONS_TABLE, {
    model,
    range,
    bucket: q.bucket,
    limit: q.limit,
    nextToken: q.nextToken,
  });
  return json({ model, bucket: q.bucket, from: range.from.toISOString(), to: range.to.toISOString(), ...page });
};
