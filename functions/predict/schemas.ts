import * as z from 'zod';
import { BUCKET_SIZES, type BucketSize } from '#predictions/analytics.ts';
import { oneOf } from '#runtime/errors.ts';
import { VERSION_PATTERN } from '#runtime/manifest.ts';
import { VOTING_METHODS, type VotingMethod } from '#tasks/classification/ensemble.ts';
import {
  cacheField,
  ModelVersion,
  modelField,
  oneTextOrTexts,
  perConfig,
  RequestId,
  shortString,
  textField,
  textsField,
} from '../schemas.ts';

/** Request and response schemas of the predict function's routes (`routes.ts` says which route takes which). */

const MAX_PAGE_BUCKETS = 744; // 31 days of hours: one page can always hold a whole range

const ensembleField = () =>
  z
    .strictObject({
      members: z
        .array(
          shortString('must be a model reference: "name", "name@version" or "name@alias"', 'a model reference').min(1),
          {
            error: 'must be an array of 2 to 5 model references',
          },
        )
        .min(2, 'must hold at least 2 model references')
        .max(5, 'must hold at most 5 model references'),
      method: z.enum(VOTING_METHODS as [VotingMethod, ...VotingMethod[]], {
        error: `must be one of ${oneOf(VOTING_METHODS)}`,
      }),
      weights: z
        .array(z.number({ error: 'must be a number ≥ 0' }).min(0, 'must be ≥ 0'), {
          error: 'must be an array of numbers, one per member',
        })
        .optional(),
    })
    .optional()
    .meta({
      description:
        'Combine several models instead of one: "soft" averages their (weighted) scores, "hard" takes the (weighted) majority label.',
    });

const selector = shortString('must be a string: a version ("1") or an alias ("prod")', 'a version or alias').regex(
  VERSION_PATTERN,
  'must be a version ("1") or an alias ("prod")',
);

const oneModel = { message: 'give either "model" or "ensemble", not both', path: ['ensemble'] };
const Range = {
  model: shortString('must be a string', 'a model name')
    .refine((m) => !m.includes('@'), 'must be a model name without "@": versions are counted in byVersion')
    .optional()
    .meta({ description: 'A text-classification model name, or "ensemble" (default: the default predict model).' }),
  from: shortString('must be a string', 'a date')
    .optional()
    .meta({ description: 'ISO 8601 date or UTC date-time (default: 24 h before `to`).' }),
  to: shortString('must be a string', 'a date')
    .optional()
    .meta({ description: 'ISO 8601 date or UTC date-time (default: now).' }),
  outcome: z
    .enum(['ok', 'all'], { error: 'must be "ok" (delivered answers, the default) or "all"' })
    .default('ok')
    .meta({ description: '"all" also counts requests cut by their deadline, their client leaving or an error.' }),
};

/** The request schemas, built from the configured limits (the handlers validate with these objects). */
export const predictRequests = perConfig(() => ({
  Single: z
    .strictObject({ text: textField(), model: modelField(), ensemble: ensembleField(), cache: cacheField() })
    .refine((b) => !(b.model && b.ensemble), oneModel),
  Batch: z
    .strictObject({ texts: textsField(), model: modelField(), ensemble: ensembleField(), cache: cacheField() })
    .refine((b) => !(b.model && b.ensemble), oneModel),
  Compare: oneTextOrTexts(
    z.strictObject({
      text: textField().optional(),
      texts: textsField().optional(),
      model: shortString('must be a model name, e.g. "tiny-distilbert-sentiment"', 'a model name')
        .refine((m) => !m.includes('@'), 'must be a model name without "@"; put the two versions in "versions"')
        .optional(),
      versions: z
        .array(selector, { error: 'must be an array of two versions or aliases, e.g. ["1", "2"]' })
        .length(2, 'must hold exactly two versions or aliases, e.g. ["1", "2"]')
        .refine((v) => v[0] !== v[1], 'must name two different versions or aliases'),
    }),
    { message: 'give either "text" (one string) or "texts" (an array), not both and not neither', path: ['text'] },
  ),
  Summary: z.strictObject(Range),
  Timeseries: z.strictObject({
    ...Range,
    bucket: z.enum(BUCKET_SIZES as [BucketSize, ...BucketSize[]], { error: `must be one of ${oneOf(BUCKET_SIZES)}` }),
    limit: z.coerce
      .number({ error: 'must be a whole number of buckets' })
      .int('must be a whole number of buckets')
      .min(1, 'must be at least 1')
      .max(MAX_PAGE_BUCKETS, `must be at most ${MAX_PAGE_BUCKETS}`)
      .default(168)
      .meta({ description: 'Buckets per page.' }),
    nextToken: z
      .string()
      .min(1)
      .max(1024, 'must be the nextToken of a previous page')
      .optional()
      .meta({ description: 'The previous page’s `nextToken`.' }),
  }),
}));
export type EnsembleSpec = NonNullable<z.infer<ReturnType<typeof predictRequests>['Single']>['ensemble']>;

const LabelScore = z.object({ label: z.string(), score: z.number() });
const Classification = {
  label: z.string().meta({ description: 'The top label.' }),
  score: z.number().meta({ description: 'Its probability, 0..1.' }),
  scores: z.array(LabelScore).meta({ description: 'Every label, most probable first.' }),
};
const PredictResult = z
  .object({ ...Classification, cached: z.boolean().meta({ description: 'Answered from the result cache.' }) })
  .meta({ id: 'PredictResult' });
const ServedModel = z
  .object({
    name: z.string(),
    version: z.string(),
    alias: z.string().optional(),
    canary: z
      .boolean()
      .optional()
      .meta({ description: "true when the alias's canary split chose the canary version." }),
  })
  .meta({ id: 'ServedModel', description: 'The model that answered; alias and canary when an alias chose it.' });
const EnsembleResult = z
  .object({
    ...Classification,
    tieBroken: z.boolean().optional(),
    members: z.array(
      z.union([
        PredictResult.extend({ model: ModelVersion }),
        z.object({ model: ModelVersion, error: z.string().meta({ description: 'Why the member did not answer.' }) }),
      ]),
    ),
  })
  .meta({ id: 'EnsembleResult' });
const EnsembleInfo = {
  ensemble: z.object({
    method: z.enum(VOTING_METHODS as [VotingMethod, ...VotingMethod[]]),
    members: z.array(z.string()),
    weights: z.array(z.number()),
  }),
  excluded: z.array(z.object({ model: ModelVersion, reason: z.string() })),
  requestId: RequestId,
};

export const Health = z.object({ status: z.literal('ok') });
const FunctionStatus = z.object({
  instances: z
    .number()
    .meta({ description: 'Warm instances holding at least one model (shared state, within its TTL).' }),
  models: z.array(
    z.object({
      model: z.string().meta({ description: 'name@version' }),
      task: z.string().optional(),
      instances: z.number(),
      loadMs: z.number().optional(),
    }),
  ),
});

export const Status = z.object({
  stage: z.string(),
  functions: z.record(z.string(), FunctionStatus).meta({
    description: 'Every function (capability): the models its warm instances hold, from the shared model state.',
  }),
  coldStartMs: z.number().nullable().meta({
    description:
      "The instance's cold start: its init plus its first invocation, without the idle time between; null before one.",
  }),
  uptimeSeconds: z.number(),
  memory: z.record(z.string(), z.number()).meta({ description: "Node's process.memoryUsage(), bytes." }),
  models: z.array(
    z.object({
      key: z.string().meta({ description: 'name@version' }),
      task: z.string().optional(),
      loadMs: z.number(),
      loadedAt: z.string(),
      lastUsedAt: z.string().optional().meta({ description: 'Admin keys only (other keys see their own activity).' }),
      hits: z.number().optional().meta({ description: 'Admin keys only.' }),
    }),
  ),
  resultCache: z
    .object({
      memoryHits: z.number(),
      sharedHits: z.number(),
      misses: z.number(),
      size: z.number(),
      sharedPolicy: z.enum(['auto', 'always', 'never']).meta({ description: 'RESULT_CACHE_SHARED' }),
      skippedSharedLookups: z
        .number()
        .meta({ description: 'DynamoDB lookups the auto policy skipped as slower than inference' }),
    })
    .nullable()
    .meta({ description: "null for keys that are not the stage's admin keys: it counts every key's requests." }),
  inference: z
    .object({ calls: z.number(), texts: z.number() })
    .nullable()
    .meta({ description: 'null for keys that are not admin keys.' }),
});
export const Predict = z
  .union([PredictResult.extend({ model: ServedModel, requestId: RequestId }), EnsembleResult.extend(EnsembleInfo)])
  .meta({ id: 'PredictResponse' });
export const PredictBatch = z
  .union([
    z.object({ results: z.array(PredictResult), model: ServedModel, requestId: RequestId }),
    z.object({ results: z.array(EnsembleResult), ...EnsembleInfo }),
  ])
  .meta({ id: 'PredictBatchResponse' });
export const Compare = z
  .object({
    comparisonId: z.string().meta({ description: 'Shared by the prediction records of both sides.' }),
    model: z.string(),
    versions: z.object({ a: ServedModel, b: ServedModel }),
    results: z.array(z.object({ a: PredictResult, b: PredictResult, agree: z.boolean() })),
    agreementRate: z.number(),
    requestId: RequestId,
  })
  .meta({ id: 'CompareResponse' });
const Window = { model: z.string(), from: z.string(), to: z.string() };
export const Summary = z
  .object({
    ...Window,
    total: z.number(),
    byLabel: z.record(z.string(), z.number()),
    byVersion: z.record(z.string(), z.number()),
    confidenceHistogram: z.array(z.object({ from: z.number(), to: z.number(), count: z.number() })),
    latencyMs: z.object({
      p50: z.number().nullable(),
      p95: z.number().nullable(),
      p99: z.number().nullable(),
      count: z.number(),
    }),
    comparisons: z.object({ pairs: z.number(), agreed: z.number(), agreementRate: z.number().nullable() }),
    cache: z.object({ hits: z.number(), lookups: z.number(), hitRate: z.number().nullable() }),
    partitionsQueried: z.number(),
  })
  .meta({ id: 'AnalyticsSummary' });
export const Timeseries = z
  .object({
    ...Window,
    bucket: z.enum(BUCKET_SIZES as [BucketSize, ...BucketSize[]]),
    buckets: z.array(z.object({ start: z.string(), count: z.number(), byLabel: z.record(z.string(), z.number()) })),
    nextToken: z.string().optional().meta({ description: 'Present when more buckets follow: pass it back.' }),
  })
  .meta({ id: 'AnalyticsTimeseries' });
