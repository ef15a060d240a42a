import { z } from 'zod';
import { json } from '#http/response.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';
import { parseInput } from '#http/validate.ts';
import { BUCKET_SIZES, type BucketSize, parseRange, summary, timeseries } from '#predictions/analytics.ts';
import { makeDocumentClient } from '#predictions/client.ts';
import { config } from '#runtime/config.ts';
import { oneOf, UnknownModelError } from '#runtime/errors.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { modelRuntime } from '#storage/model-runtime.ts';

/** Ensembles log under this model name (see docs/prediction-log.md). */
const ENSEMBLE_MODEL = 'ensemble';
const MAX_PAGE_BUCKETS = 744; // 31 days of hours: one page can always hold a whole range

const Range = {
  model: z
    .string()
    .refine((m) => !m.includes('@'), 'must be a model name without "@": versions are counted in byVersion')
    .optional(),
  from: z.string().optional(),
  to: z.string().optional(),
};
const Summary = z.strictObject(Range);
const Timeseries = z.strictObject({
  ...Range,
  bucket: z.enum(BUCKET_SIZES as [BucketSize, ...BucketSize[]], { error: `must be one of ${oneOf(BUCKET_SIZES)}` }),
  limit: z.coerce
    .number({ error: 'must be a whole number of buckets' })
    .int('must be a whole number of buckets')
    .min(1, 'must be at least 1')
    .max(MAX_PAGE_BUCKETS, `must be at most ${MAX_PAGE_BUCKETS}`)
    .default(168),
  nextToken: z.string().min(1).optional(),
});

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
  const q = parseInput(Summary, event.queryStringParameters ?? {});
  const range = parseRange(q.from, q.to);
  const model = await modelOf(q.model);
  const out = await summary(db(), config().PREDICTIONS_TABLE, { model, range });
  return json({ model, from: range.from.toISOString(), to: range.to.toISOString(), ...out });
};

/** `GET /v1/analytics/timeseries?model=&bucket=hour|day&from=&to=&limit=&nextToken=` */
export const timeseriesRoute = async (event: ApiEvent): Promise<ApiResult> => {
  const q = parseInput(Timeseries, event.queryStringParameters ?? {});
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
