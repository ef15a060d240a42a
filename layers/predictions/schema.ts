/**
 * The DynamoDB tables of the prediction layer, described once: the CDK stack (`infra/`)
 * and the local emulator (dynalite) both create them from these definitions. The
 * queries each endpoint runs are in docs/prediction-log.md.
 */

/** A table's keys, indexes and TTL attribute (if its items expire); every key attribute is a string. */
export interface TableKeys {
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly ttlAttribute?: string;
  readonly globalSecondaryIndexes: ReadonlyArray<{
    readonly indexName: string;
    readonly partitionKey: string;
    readonly sortKey: string;
  }>;
}

/**
 * The prediction log.
 * - `pk` = `<capability>#<model>#<yyyy-mm-dd>`: one partition per model per UTC day, so
 *   an analytics range for one model is one Query per day (`sk BETWEEN`), and a hot
 *   model spreads its writes over days. Ensembles log under the model name `ensemble`.
 * - `sk` = `<iso timestamp>#<requestId>#<index>[#<part>]`: records sort by time within a
 *   day; request id, item index and part (`a`/`b` for compare, `m0`… for ensemble
 *   members of one model name) keep every record of one request unique.
 * - GSI `byRequest`: `requestId` / `sk`, every record of one request.
 * - TTL on `expiresAt` (epoch seconds).
 */
export const PREDICTIONS_TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [{ indexName: 'byRequest', partitionKey: 'requestId', sortKey: 'sk' }],
} as const satisfies TableKeys;

export type PredictionsIndex = (typeof PREDICTIONS_TABLE_KEYS.globalSecondaryIndexes)[number];

/**
 * Per-key usage counters (`usage.ts`): one item per `counter` =
 * `<apiKeyId>#<unit>#<window start>` holding `used`, the units counted in that window,
 * incremented atomically; `expiresAt` (epoch seconds) drops a window a day after it ends.
 */
export const USAGE_TABLE_KEYS = {
  partitionKey: 'counter',
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [],
} as const satisfies TableKeys;

/**
 * The shared result cache: one item per `cacheKey` = sha256(caller's hashed key id +
 * `name@version` + options + text) holding the answer (predict, translate, detect);
 * `expiresAt` (epoch seconds) is its TTL. Reads ignore items
 * past `expiresAt` because DynamoDB deletes expired items lazily (up to days later).
 */
/**
 * Models' loaded-state, one item per model version and holder (`<function>/<instance>`):
 * what `/models/{model}/status` and `/v1/status` read (Query by model), written by each
 * instance's model cache (BatchWriteItem: put on a change, delete on eviction), expiring by TTL.
 */
export const MODEL_STATE_TABLE_KEYS = {
  partitionKey: 'model',
  sortKey: 'holder',
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [],
} as const satisfies TableKeys;

export const RESULT_CACHE_TABLE_KEYS = {
  partitionKey: 'cacheKey',
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [],
} as const satisfies TableKeys;

/**
 * The mirror of API Gateway's keys that body-keyed requests are checked against
 * (`layers/http/key-mirror.ts`, written by `functions/key-sync/`): one item per enabled key in
 * a usage plan, `keyHash` = the SHA-256 of the key's value (hex; the value itself is never
 * stored), holding the key's id and its plan's numbers. No TTL: a full sync deletes what left
 * the source, and an expiry would lock every body-keyed client out while the sync is down.
 */
export const API_KEYS_TABLE_KEYS = {
  partitionKey: 'keyHash',
  globalSecondaryIndexes: [],
} as const satisfies TableKeys;

/**
 * Hugging Face import jobs (`import-jobs.ts`, docs/hub-import.md): one item per `id` =
 * `org/name@revision`, put by a serving function with a condition (one job per id, however
 * many requests name it), changed by the import function as it works; its stream
 * (NEW_IMAGE) starts the import. `expiresAt` is set on failed jobs only.
 */
export const IMPORTS_TABLE_KEYS = {
  partitionKey: 'id',
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [],
} as const satisfies TableKeys;
