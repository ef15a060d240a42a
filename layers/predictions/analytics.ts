import { ValidationError } from '#runtime/errors.ts';
import { counterPk, counterScope, HISTOGRAM_BUCKETS, histogramPercentile, sumView } from './counters.ts';
import { type DocumentSender, dynamoSdk } from './dynamo.ts';
import type { PredictionRecord } from './log.ts';
import { PREDICTIONS_TABLE_KEYS } from './schema.ts';
import type { Scope } from './scope.ts';

/**
 * Analytics over the prediction log's pre-aggregated counters (`counters.ts`, written by
 * the ingester), answered only by Query on the table's keys: one Query (paginated) per
 * UTC-day partition `counters#<capability>#<model>#<day>` with
 * `sk BETWEEN <scope>#<from hour> AND <scope>#<to hour>`. No Scan, and no record read:
 * the cost follows the hours of the range, not the records in it. A range is read whole
 * hours at a time (the hours it touches). docs/prediction-log.md shows the queries.
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The longest range one request may ask for: at most 32 day partitions to query. */
export const MAX_RANGE_DAYS = 31;

export interface TimeRange {
  from: Date;
  to: Date;
}

type Querier = DocumentSender;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const parseInstant = (field: string, value: string, endOfDay: boolean): Date => {
  const ok = DATE_ONLY.test(value) || DATE_TIME.test(value);
  const ms = ok ? Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ValidationError(
      `${field}: ${JSON.stringify(value)} is not an ISO 8601 date or UTC date-time; use e.g. "2026-11-22" or "2026-11-22T10:00:00Z".`,
      { param: field },
    );
  }
  return new Date(DATE_ONLY.test(value) && endOfDay ? ms + DAY_MS - 1 : ms);
};

/**
 * The time range of an analytics request. Defaults: `to` = now, `from` = 24 h before
 * `to`. A date alone means the start of that UTC day for `from` and its end for `to`.
 *
 * @example
 * parseRange('2026-11-22', '2026-11-22'); // => { from: 2026-11-22T00:00:00.000Z, to: 2026-11-22T23:59:59.999Z }
 */
export const parseRange = (from: string | undefined, to: string | undefined, now = Date.now()): TimeRange => {
  const end = to === undefined ? new Date(now) : parseInstant('to', to, true);
  const start = from === undefined ? new Date(end.getTime() - DAY_MS) : parseInstant('from', from, false);
  if (start > end) {
    throw new ValidationError(
      `from (${start.toISOString()}) is after to (${end.toISOString()}); swap them or move from earlier.`,
      { param: 'from' },
    );
  }
  if (end.getTime() - start.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw new ValidationError(
      `The range from ${start.toISOString()} to ${end.toISOString()} is longer than ${MAX_RANGE_DAYS} days; ask for ${MAX_RANGE_DAYS} days or less and page through longer periods.`,
      { param: 'from' },
    );
  }
  return { from: start, to: end };
};

/** The UTC days a range touches, oldest first: one partition each. */
export const daysOf = (range: TimeRange): string[] => {
  const days: string[] = [];
  for (
    let t = Date.UTC(range.from.getUTCFullYear(), range.from.getUTCMonth(), range.from.getUTCDate());
    t <= range.to.getTime();
    t += DAY_MS
  ) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
};

/**
 * The counter items of one model and scope in a range: a Query per day partition, each
 * followed through `LastEvaluatedKey`, over the hours the range touches.
 *
 * @example
 * const items = await queryCounters(client, 'predictions', { model: 'tiny-distilbert-sentiment', range });
 */
export const queryCounters = async (
  client: Querier,
  table: string,
  q: { model: string; range: TimeRange; capability?: PredictionRecord['capability']; scope?: Scope },
): Promise<Array<Record<string, unknown>>> => {
  const k = PREDICTIONS_TABLE_KEYS;
  const scope = counterScope(q.scope?.keyHash);
  const out: Array<Record<string, unknown>> = [];
  const { QueryCommand } = await dynamoSdk();
  for (const day of daysOf(q.range)) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': k.partitionKey, '#sk': k.sortKey },
          ExpressionAttributeValues: {
            ':pk': counterPk(q.capability ?? 'predict', q.model, day),
            ':from': `${scope}#${q.range.from.toISOString().slice(0, 13)}`,
            ':to': `${scope}#${q.range.to.toISOString().slice(0, 13)}`,
          },
          ExclusiveStartKey: startKey,
        }),
      );
      out.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
  return out;
};

/** The hour an item counts (its `sk` after the scope), as epoch ms. */
const hourOf = (item: Record<string, unknown>): number => {
  const sk = String(item[PREDICTIONS_TABLE_KEYS.sortKey]);
  return Date.parse(`${sk.slice(sk.indexOf('#') + 1)}:00:00Z`);
};

/**
 * Nearest-rank percentile: the smallest value with at least p % of the values at or
 * below it, i.e. `sorted[ceil(p/100 · n) − 1]`; always one of the values, never
 * interpolated.
 *
 * @example
 * percentile([15, 20, 35, 40, 50], 40); // => 20
 */
export const percentile = (sorted: readonly number[], p: number): number | null => {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
};

export interface Summary {
  total: number;
  byLabel: Record<string, number>;
  byVersion: Record<string, number>;
  confidenceHistogram: Array<{ from: number; to: number; count: number }>;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; count: number };
  comparisons: { pairs: number; agreed: number; agreementRate: number | null };
  cache: { hits: number; lookups: number; hitRate: number | null };
}

/** The counts of one dimension (`label#X` → `{ X: n }`), without zeros. */
const dimension = (counts: Record<string, number>, name: string): Record<string, number> =>
  Object.fromEntries(
    Object.entries(counts)
      .filter(([k, n]) => k.startsWith(`${name}#`) && n > 0)
      .map(([k, n]) => [k.slice(name.length + 1), n]),
  );

/**
 * Aggregates counter sums of a view (`sumView`, pure): counts by label and version,
 * histogram of top scores, latency percentiles from the histogram (`histogramPercentile`:
 * never below the exact nearest-rank value, less than 25 % + 1 ms above it), agreement of
 * compare pairs, cache hit rate over all records.
 *
 * @example
 * summarize({}).total; // => 0
 */
export const summarize = (counts: Record<string, number>): Summary => {
  const total = counts.total ?? 0;
  const hits = counts.cached ?? 0;
  const pairs = counts.pairs ?? 0;
  const agreed = counts.agreed ?? 0;
  const latency = dimension(counts, 'latency');
  return {
    total,
    byLabel: dimension(counts, 'label'),
    byVersion: dimension(counts, 'version'),
    confidenceHistogram: Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => ({
      from: i / HISTOGRAM_BUCKETS,
      to: (i + 1) / HISTOGRAM_BUCKETS,
      count: counts[`confidence#${i}`] ?? 0,
    })),
    latencyMs: {
      p50: histogramPercentile(counts, 50),
      p95: histogramPercentile(counts, 95),
      p99: histogramPercentile(counts, 99),
      count: Object.values(latency).reduce((n, c) => n + c, 0),
    },
    comparisons: { pairs, agreed, agreementRate: pairs > 0 ? agreed / pairs : null },
    cache: { hits, lookups: total, hitRate: total > 0 ? hits / total : null },
  };
};

/**
 * `GET /v1/analytics/summary`: one model's counters over the hours of a range, summarised.
 *
 * @example
 * await summary(client, 'predictions', { model: 'tiny-distilbert-sentiment', range }); // => { total: 12, byLabel: {…}, … }
 */
export const summary = async (
  client: Querier,
  table: string,
  q: { model: string; range: TimeRange; scope?: Scope },
): Promise<Summary & { partitionsQueried: number }> => ({
  ...summarize(sumView(await queryCounters(client, table, q), q.scope?.outcome ?? 'all')),
  partitionsQueried: daysOf(q.range).length,
});

export type BucketSize = 'hour' | 'day';
export const BUCKET_SIZES: readonly BucketSize[] = ['hour', 'day'];
const bucketMs = (bucket: BucketSize): number => (bucket === 'hour' ? HOUR_MS : DAY_MS);

/** The start of every bucket a range touches, oldest first (UTC hours or days). */
export const bucketStarts = (range: TimeRange, bucket: BucketSize): number[] => {
  const size = bucketMs(bucket);
  const starts: number[] = [];
  for (let t = Math.floor(range.from.getTime() / size) * size; t <= range.to.getTime(); t += size) starts.push(t);
  return starts;
};

export interface TimeseriesPage {
  buckets: Array<{ start: string; count: number; byLabel: Record<string, number> }>;
  nextToken?: string;
}

interface PageToken {
  model: string;
  bucket: BucketSize;
  from: string;
  to: string;
  /** Index of the first bucket of the next page. */
  next: number;
}

const encodeToken = (t: PageToken): string => Buffer.from(JSON.stringify(t)).toString('base64url');
const decodeToken = (token: string): PageToken | undefined => {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as PageToken;
    return Number.isInteger(t.next) && t.next >= 0 ? t : undefined;
  } catch {
    return undefined;
  }
};

/**
 * `GET /v1/analytics/timeseries`: counts per bucket (and per label), every bucket of the
 * range listed (empty ones with 0), `limit` buckets a page. A page queries only its own
 * buckets' time span; `nextToken` is opaque (base64url) and bound to the query it came
 * from.
 *
 * @example
 * const page = await timeseries(client, 'predictions', { model, range, bucket: 'hour', limit: 24 });
 * page.buckets[0]; // => { start: '2026-11-22T10:00:00.000Z', count: 3, byLabel: { NEGATIVE: 2, POSITIVE: 1 } }
 */
export const timeseries = async (
  client: Querier,
  table: string,
  q: { model: string; range: TimeRange; bucket: BucketSize; limit: number; nextToken?: string; scope?: Scope },
): Promise<TimeseriesPage> => {
  const query = { model: q.model, bucket: q.bucket, from: q.range.from.toISOString(), to: q.range.to.toISOString() };
  let first = 0;
  if (q.nextToken !== undefined) {
    const t = decodeToken(q.nextToken);
    if (!t || t.model !== query.model || t.bucket !== query.bucket || t.from !== query.from || t.to !== query.to) {
      throw new ValidationError(
        'nextToken does not belong to this query: repeat the same model, bucket, from and to as the request that returned it, or leave nextToken out to start again.',
        { param: 'nextToken' },
      );
    }
    first = t.next;
  }
  const starts = bucketStarts(q.range, q.bucket);
  const page = starts.slice(first, first + q.limit);
  const size = bucketMs(q.bucket);
  const buckets = page.map((start) => ({
    start: new Date(start).toISOString(),
    count: 0,
    byLabel: {} as Record<string, number>,
  }));
  if (page.length > 0) {
    const span: TimeRange = {
      from: new Date(Math.max(q.range.from.getTime(), page[0]!)),
      to: new Date(Math.min(q.range.to.getTime(), page[page.length - 1]! + size - 1)),
    };
    const view = q.scope?.outcome ?? 'all';
    for (const item of await queryCounters(client, table, { model: q.model, range: span, scope: q.scope })) {
      const bucket = buckets[Math.floor((hourOf(item) - page[0]!) / size)];
      if (!bucket) continue;
      const counts = sumView([item], view);
      bucket.count += counts.total ?? 0;
      for (const [label, n] of Object.entries(dimension(counts, 'label'))) {
        bucket.byLabel[label] = (bucket.byLabel[label] ?? 0) + n;
      }
    }
  }
  const next = first + page.length;
  return { buckets, ...(next < starts.length ? { nextToken: encodeToken({ ...query, next }) } : {}) };
};
