/**
 * The prediction log table, described once: the CDK stack (`infra/`) and the local
 * emulator (dynalite) both create it from this definition.
 *
 * Keys (see docs/prediction-log.md for the queries each endpoint runs):
 * - `pk` = `<capability>#<model>#<yyyy-mm-dd>`: one partition per model per UTC day,
 *   so a time-range query for one model touches one partition per day and a hot model
 *   spreads its writes over days.
 * - `sk` = `<iso timestamp>#<requestId>#<index>`: records sort by time within a day;
 *   the request id and item index keep batch items unique.
 * - GSI `byRequest`: `requestId` / `sk`, to find every record of one request.
 * - TTL on `expiresAt` (epoch seconds).
 */
export const PREDICTIONS_TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [{ indexName: 'byRequest', partitionKey: 'requestId', sortKey: 'sk' }],
} as const;

export type PredictionsIndex = (typeof PREDICTIONS_TABLE_KEYS.globalSecondaryIndexes)[number];
