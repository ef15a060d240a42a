import type { PredictionRecord } from './log.ts';

/**
 * Pre-aggregated analytics counters (issue 23.6): a pure function from a batch of
 * prediction records to the counter updates the ingester (`RecordIngester`) applies as
 * DynamoDB `UpdateItem` `ADD`s, so a summary or timeseries reads one item per hour
 * bucket instead of every record.
 *
 * Items, in the prediction table: `pk` = `counters#<capability>#<model>#<yyyy-mm-dd>`,
 * `sk` = `<scope>#<hour>` (`all#2026-12-06T03`, or `key.<apiKeyIdHash>#2026-12-06T03`
 * for one key's records): a scope's hours of a range are one `sk BETWEEN` per day. Every
 * record adds 1 to its item of each scope (every key, and its own), to `outcome#<o>` and,
 * per view (`all`; `ok` too for a delivered answer), to `<view>#total`,
 * `<view>#label#<label>`, `<view>#version#<v>`, `<view>#confidence#<0..9>` (top-score
 * deciles), `<view>#latency#<bucket>` (LATENCY_BOUNDS_MS), `<view>#cached`; each compare
 * pair complete in the batch adds to `<view>#pairs` and, if both sides agree,
 * `<view>#agreed` (side a's item).
 * Applying ADDs is commutative, so concurrent writers and batches of distinct records
 * stay correct; a retried batch of the same records would double-count, so the ingester
 * applies a batch's updates only once every record of it is written (see
 * docs/prediction-log.md for the remaining bound).
 */

export const HISTOGRAM_BUCKETS = 10;

/** The histogram bucket of a top score: [i/10, (i+1)/10), the last one closed at 1. */
export const histogramBucket = (score: number): number =>
  Math.min(HISTOGRAM_BUCKETS - 1, Math.max(0, Math.floor(score * HISTOGRAM_BUCKETS)));

/** The views of the counters: delivered answers only, or every outcome (`?outcome=`). */
export type CounterView = 'ok' | 'all';

/** The sort-key scope of a caller's counters: every key's (`all`) or one key's. */
export const counterScope = (keyHash: string | undefined): string => (keyHash === undefined ? 'all' : `key.${keyHash}`);

/** The partition of one model's counters on one UTC day. */
export const counterPk = (capability: string, model: string, day: string): string =>
  `counters#${capability}#${model}#${day}`;

/**
 * Upper bounds (ms) of the latency histogram's buckets, each `ceil(previous × 1.25)`: a
 * percentile read from it is the upper bound of the bucket holding that rank, so it is
 * never below the exact nearest-rank value and over-states it by less than 25 % + 1 ms.
 * Past the last bound (~2 min): `inf`, read as the last bound.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = (() => {
  const bounds: number[] = [1, 2, 3, 4, 5];
  while (bounds.at(-1)! < 120_000) bounds.push(Math.ceil(bounds.at(-1)! * 1.25));
  return bounds;
})();

/** The latency bucket of a duration: the index of the first bound at or above it, or `inf`. */
export const latencyBucket = (ms: number): string => {
  const i = LATENCY_BOUNDS_MS.findIndex((b) => ms <= b);
  return i === -1 ? 'inf' : String(i);
};

/** One counter item's increments. */
export interface CounterUpdate {
  pk: string;
  sk: string;
  add: Record<string, number>;
}

const bump = (add: Record<string, number>, name: string): void => {
  add[name] = (add[name] ?? 0) + 1;
};

type Countable = Pick<
  PredictionRecord,
  | 'capability'
  | 'model'
  | 'version'
  | 'timestamp'
  | 'outcome'
  | 'apiKeyIdHash'
  | 'output'
  | 'latencyMs'
  | 'cached'
  | 'comparisonId'
  | 'side'
  | 'index'
>;

const viewsOf = (r: Countable): CounterView[] => ((r.outcome ?? 'ok') === 'ok' ? ['ok', 'all'] : ['all']);

/**
 * The counter updates of a batch of records: one per (capability, model, hour, scope)
 * touched, with the sums of the batch, so a batch of 25 records is a few UpdateItems.
 * A compare pair counts when both its sides are in the batch (a compare request prints
 * them together).
 *
 * @example
 * counterUpdates([{ capability: 'predict', model: 'm', version: '1', timestamp: '2026-12-06T03:10:00Z',
 *   outcome: 'ok', latencyMs: 12, output: { label: 'POSITIVE', score: 0.93 }, apiKeyIdHash: 'k', … }]);
 * // => [{ pk: 'counters#predict#m#2026-12-06', sk: 'all#2026-12-06T03',
 * //       add: { 'outcome#ok': 1, 'ok#total': 1, 'ok#label#POSITIVE': 1, 'ok#confidence#9': 1, 'all#total': 1, … } },
 * //     { pk: …, sk: 'key.k#2026-12-06T03', add: { … the same … } }]
 */
export const counterUpdates = (records: readonly Countable[]): CounterUpdate[] => {
  const items = new Map<string, CounterUpdate>();
  const itemsOf = (r: Countable): Array<Record<string, number>> =>
    ['all', counterScope(r.apiKeyIdHash ?? 'none')].map((scope) => {
      const pk = counterPk(r.capability, r.model, r.timestamp.slice(0, 10));
      const sk = `${scope}#${r.timestamp.slice(0, 13)}`;
      const id = `${pk}\n${sk}`;
      let item = items.get(id);
      if (!item) {
        item = { pk, sk, add: {} };
        items.set(id, item);
      }
      return item.add;
    });
  const pairs = new Map<string, { a?: Countable; b?: Countable }>();
  for (const r of records) {
    const label = typeof r.output?.label === 'string' ? r.output.label : undefined;
    const score = typeof r.output?.score === 'number' ? r.output.score : undefined;
    for (const add of itemsOf(r)) {
      bump(add, `outcome#${r.outcome ?? 'ok'}`);
      for (const v of viewsOf(r)) {
        bump(add, `${v}#total`);
        bump(add, `${v}#version#${r.version}`);
        if (label !== undefined) bump(add, `${v}#label#${label}`);
        if (score !== undefined) bump(add, `${v}#confidence#${histogramBucket(score)}`);
        if (typeof r.latencyMs === 'number') bump(add, `${v}#latency#${latencyBucket(r.latencyMs)}`);
        if (r.cached === true) bump(add, `${v}#cached`);
      }
    }
    if (r.comparisonId && (r.side === 'a' || r.side === 'b')) {
      const id = `${r.capability}#${r.model}#${r.comparisonId}#${r.index}`;
      const pair = pairs.get(id) ?? {};
      pair[r.side] = r;
      pairs.set(id, pair);
    }
  }
  for (const { a, b } of pairs.values()) {
    const la = a?.output?.label;
    const lb = b?.output?.label;
    if (!a || !b || typeof la !== 'string' || typeof lb !== 'string') continue;
    const views = viewsOf(b).includes('ok') ? viewsOf(a) : ['all'];
    for (const add of itemsOf(a)) {
      for (const v of views) {
        bump(add, `${v}#pairs`);
        if (la === lb) bump(add, `${v}#agreed`);
      }
    }
  }
  return [...items.values()];
};

/**
 * Sums counter items into one set of counts of a view, without the view's prefix
 * (`ok#label#X` → `label#X`): what a summary or a bucket of a timeseries reads.
 *
 * @example
 * sumView([{ 'ok#total': 2, 'all#total': 3 }, { 'ok#total': 1 }], 'ok'); // => { total: 3 }
 */
export const sumView = (items: ReadonlyArray<Record<string, unknown>>, view: CounterView): Record<string, number> => {
  const out: Record<string, number> = {};
  const prefix = `${view}#`;
  for (const item of items) {
    for (const [name, value] of Object.entries(item)) {
      if (!name.startsWith(prefix) || typeof value !== 'number') continue;
      const key = name.slice(prefix.length);
      out[key] = (out[key] ?? 0) + value;
    }
  }
  return out;
};

/**
 * A percentile from latency histogram counts (`latency#<bucket>` summed over buckets):
 * the upper bound of the bucket holding the nearest rank (see LATENCY_BOUNDS_MS for the
 * precision); null without latencies; the last finite bound for the `inf` bucket.
 *
 * @example
 * histogramPercentile({ 'latency#0': 9, 'latency#10': 1 }, 95); // => LATENCY_BOUNDS_MS[10]
 */
export const histogramPercentile = (counts: Record<string, number>, p: number): number | null => {
  const byBucket = LATENCY_BOUNDS_MS.map((_, i) => counts[`latency#${i}`] ?? 0);
  byBucket.push(counts['latency#inf'] ?? 0);
  const n = byBucket.reduce((s, c) => s + c, 0);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  let seen = 0;
  for (const [i, c] of byBucket.entries()) {
    seen += c;
    if (seen >= rank) return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)]!;
  }
  return LATENCY_BOUNDS_MS.at(-1)!;
};
