import { histogramBucket } from './analytics.ts';
import type { PredictionRecord } from './log.ts';

/**
 * Pre-aggregated analytics counters (issue 23.6): a pure function from a batch of
 * prediction records to the counter updates the ingester (`RecordIngester`) applies as
 * DynamoDB `UpdateItem` `ADD`s, so a summary or timeseries reads one item per bucket instead of every record.
 *
 * One item per (capability, model, hour): `pk` = `counters#<capability>#<model>#<yyyy-mm-dd>`,
 * `sk` = the hour (`2026-12-06T03`). Its numeric attributes are counters, named
 * `<dimension>#<value>`; every record adds 1 to each that applies:
 * - `total`, and `key#<apiKeyIdHash>#total` (per-key views);
 * - `outcome#<outcome>`, `version#<version>`, `label#<label>` (delivered answers only for
 *   the last two, so the default view counts answers);
 * - `key#<hash>#label#<label>`, `key#<hash>#version#<v>` (a key's own summary);
 * - `latency#<bucket>` (LATENCY_BOUNDS_MS), `confidence#<0..9>` (top-score deciles);
 * - `cached`.
 * Applying ADDs is commutative, so concurrent writers and retried batches of distinct
 * records stay correct; a retried batch of the same records would double-count, so the
 * ingester applies a batch's updates only once every record of it is written (see
 * docs/prediction-log.md for the remaining bound).
 */

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

/**
 * The counter updates of a batch of records: one per (capability, model, hour) touched,
 * with the sums of the batch, so a batch of 25 records is at most a few UpdateItems.
 *
 * @example
 * counterUpdates([{ capability: 'predict', model: 'm', version: '1', timestamp: '2026-12-06T03:10:00Z',
 *   outcome: 'ok', latencyMs: 12, output: { label: 'POSITIVE', score: 0.93 }, apiKeyIdHash: 'k', … }]);
 * // => [{ pk: 'counters#predict#m#2026-12-06', sk: '2026-12-06T03',
 * //       add: { total: 1, 'outcome#ok': 1, 'version#1': 1, 'label#POSITIVE': 1, 'confidence#9': 1, 'latency#10': 1, … } }]
 */
export const counterUpdates = (records: readonly PredictionRecord[]): CounterUpdate[] => {
  const items = new Map<string, CounterUpdate>();
  for (const r of records) {
    const pk = `counters#${r.capability}#${r.model}#${r.timestamp.slice(0, 10)}`;
    const sk = r.timestamp.slice(0, 13);
    const id = `${pk}\n${sk}`;
    let item = items.get(id);
    if (!item) {
      item = { pk, sk, add: {} };
      items.set(id, item);
    }
    const add = item.add;
    const outcome = r.outcome ?? 'ok';
    const key = r.apiKeyIdHash ?? 'none';
    const label = typeof r.output?.label === 'string' ? r.output.label : undefined;
    const score = typeof r.output?.score === 'number' ? r.output.score : undefined;
    bump(add, 'total');
    bump(add, `key#${key}#total`);
    bump(add, `outcome#${outcome}`);
    bump(add, `key#${key}#outcome#${outcome}`);
    if (outcome !== 'ok') continue;
    bump(add, `version#${r.version}`);
    bump(add, `key#${key}#version#${r.version}`);
    if (label !== undefined) {
      bump(add, `label#${label}`);
      bump(add, `key#${key}#label#${label}`);
    }
    if (score !== undefined) bump(add, `confidence#${histogramBucket(score)}`);
    if (typeof r.latencyMs === 'number') bump(add, `latency#${latencyBucket(r.latencyMs)}`);
    if (r.cached === true) bump(add, 'cached');
  }
  return [...items.values()];
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
