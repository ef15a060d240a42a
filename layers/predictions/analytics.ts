import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '#runtime/errors.ts';
import type { PredictionRecord } from './log.ts';
import { PREDICTIONS_TABLE_KEYS } from './schema.ts';
import { inScope, type Scope } from './scope.ts';

/**
 * Analytics over the prediction log, answered only by Query on the table's keys: one
 * Query (paginated) per UTC-day partition `<capability>#<model>#<day>` with
 * `sk BETWEEN <from> AND <to>`. No Scan: the cost follows the range asked for, not the
 * table size. docs/prediction-log.md shows the queries.
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The longest range one request may ask for: at most 32 day partitions to query. */
export const MAX_RANGE_DAYS = 31;
export const HISTOGRAM_BUCKETS = 10;

export interface TimeRange {
  from: Date;
  to: Date;
}

/** The fields analytics read from each record (a projection: the rest stays on disk). */
export type AnalyticsRecord = Pick<
  PredictionRecord,
  'version' | 'latencyMs' | 'cached' | 'comparisonId' | 'side' | 'index' | 'requestId' | 'apiKeyIdHash' | 'outcome'
> & { sk: string; output: { label?: string; score?: number } };

type Querier = Pick<DynamoDBDocumentClient, 'send'>;

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
 * Every record of one model in a range: a Query per day partition, each followed
 * through `LastEvaluatedKey`, reading only the attributes analytics need.
 *
 * @example
 * const records = await queryRecords(client, 'predictions', { model: 'tiny-distilbert-sentiment', range });
 */
export const queryRecords = async (
  client: Querier,
  table: string,
  q: { model: string; range: TimeRange; capability?: PredictionRecord['capability']; scope?: Scope },
): Promise<AnalyticsRecord[]> => {
  const k = PREDICTIONS_TABLE_KEYS;
  const out: AnalyticsRecord[] = [];
  for (const day of daysOf(q.range)) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ProjectionExpression:
            '#sk, #version, #output, #latencyMs, #cached, #comparisonId, #side, #index, #requestId, #key, #outcome',
          ExpressionAttributeNames: {
            '#pk': k.partitionKey,
            '#sk': k.sortKey,
            '#version': 'version',
            '#output': 'output',
            '#latencyMs': 'latencyMs',
            '#cached': 'cached',
            '#comparisonId': 'comparisonId',
            '#side': 'side',
            '#index': 'index',
            '#requestId': 'requestId',
            '#key': 'apiKeyIdHash',
            '#outcome': 'outcome',
          },
          ExpressionAttributeValues: {
            ':pk': `${q.capability ?? 'predict'}#${q.model}#${day}`,
            ':from': q.range.from.toISOString(),
            // Sort keys continue after the timestamp with `#…`: '\uffff' sorts after all of it.
            ':to': `${q.range.to.toISOString()}\uffff`,
          },
          ExclusiveStartKey: startKey,
        }),
      );
      const items = (page.Items ?? []) as AnalyticsRecord[];
      out.push(...(q.scope ? items.filter((r) => inScope(r, q.scope!)) : items));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
  return out;
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

/** The histogram bucket of a top score: [i/10, (i+1)/10), the last one closed at 1. */
export const histogramBucket = (score: number): number =>
  Math.min(HISTOGRAM_BUCKETS - 1, Math.max(0, Math.floor(score * HISTOGRAM_BUCKETS)));

const countInto = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1;
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

/**
 * Aggregates records (pure): counts by label and version, histogram of top scores,
 * nearest-rank latency percentiles, agreement of compare pairs (both sides of one
 * `comparisonId` and item index present), cache hit rate over all records.
 *
 * @example
 * summarize([]).total; // => 0
 */
export const summarize = (records: readonly AnalyticsRecord[]): Summary => {
  const byLabel: Record<string, number> = {};
  const byVersion: Record<string, number> = {};
  const histogram = Array.from({ length: HISTOGRAM_BUCKETS }, () => 0);
  const latencies: number[] = [];
  const sides = new Map<string, { a?: string; b?: string }>();
  let hits = 0;
  for (const r of records) {
    if (r.output?.label !== undefined) countInto(byLabel, r.output.label);
    countInto(byVersion, r.version);
    if (typeof r.output?.score === 'number') histogram[histogramBucket(r.output.score)]! += 1;
    if (typeof r.latencyMs === 'number') latencies.push(r.latencyMs);
    if (r.cached === true) hits += 1;
    if (r.comparisonId && (r.side === 'a' || r.side === 'b')) {
      const pair = sides.get(`${r.comparisonId}#${r.index}`) ?? {};
      pair[r.side] = r.output?.label;
      sides.set(`${r.comparisonId}#${r.index}`, pair);
    }
  }
  latencies.sort((x, y) => x - y);
  const complete = [...sides.values()].filter((p) => p.a !== undefined && p.b !== undefined);
  const agreed = complete.filter((p) => p.a === p.b).length;
  return {
    total: records.length,
    byLabel,
    byVersion,
    confidenceHistogram: histogram.map((count, i) => ({
      from: i / HISTOGRAM_BUCKETS,
      to: (i + 1) / HISTOGRAM_BUCKETS,
      count,
    })),
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      count: latencies.length,
    },
    comparisons: {
      pairs: complete.length,
      agreed,
      agreementRate: complete.length > 0 ? agreed / complete.length : null,
    },
    cache: { hits, lookups: records.length, hitRate: records.length > 0 ? hits / records.length : null },
  };
};

/**
 * `GET /v1/analytics/summary`: the records of one model in a range, summarised.
 *
 * @example
 * await summary(client, 'predictions', { model: 'tiny-distilbert-sentiment', range }); // => { total: 12, byLabel: {…}, … }
 */
export const summary = async (
  client: Querier,
  table: string,
  q: { model: string; range: TimeRange; scope?: Scope },
): Promise<Summary & { partitionsQueried: number }> => ({
  ...summarize(await queryRecords(client, table, q)),
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
    for (const r of await queryRecords(client, table, { model: q.model, range: span, scope: q.scope })) {
      const at = Date.parse(r.sk.slice(0, r.sk.indexOf('#')));
      const bucket = buckets[Math.floor((at - page[0]!) / size)];
      if (!bucket) continue;
      bucket.count += 1;
      if (r.output?.label !== undefined) countInto(bucket.byLabel, r.output.label);
    }
  }
  const next = first + page.length;
  return { buckets, ...(next < starts.length ? { nextToken: encodeToken({ ...query, next }) } : {}) };
};
