import { logger } from '#observability/index.ts';
import { config } from '#runtime/config.ts';
import { errorMessage } from '#runtime/errors.ts';
import { type SharedResultStore, TieredResultCache } from '#runtime/result-cache.ts';
import type { Classification } from '#tasks/classification/index.ts';
import type { Breaker } from './breaker.ts';
import { type DocumentSender, dynamoSdk, requestPathBreaker, requestPathClient } from './dynamo.ts';
import { RESULT_CACHE_TABLE_KEYS } from './schema.ts';

const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;

/**
 * The shared tier of the result cache: a DynamoDB table keyed by the cache key, one
 * item per answer, expiring by TTL. Reads skip items past `expiresAt` (DynamoDB deletes
 * them lazily); keys DynamoDB leaves unprocessed count as misses (inference answers).
 *
 * @example
 * const store = new DynamoResultStore({ client, table: 'prediction-cache', ttlSeconds: 86_400 });
 * await store.putMany([[key, answer]]); (await store.getMany([key])).get(key); // => answer
 */
export class DynamoResultStore<T = Classification> implements SharedResultStore<T> {
  constructor(
    private readonly deps: {
      client: DocumentSender;
      table: string;
      ttlSeconds: number;
      now?: () => number;
      /** Skips the table for a while after a call timed out (see `Breaker`). */
      breaker?: Breaker;
    },
  ) {}

  private send<T>(call: () => Promise<T>): Promise<T> {
    return this.deps.breaker ? this.deps.breaker.run(call) : call();
  }

  private nowSeconds(): number {
    return Math.floor((this.deps.now ?? Date.now)() / 1000);
  }

  async getMany(keys: string[]): Promise<Map<string, T>> {
    const k = RESULT_CACHE_TABLE_KEYS;
    const found = new Map<string, T>();
    const now = this.nowSeconds();
    const { BatchGetCommand } = await dynamoSdk();
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      const out = await this.send(() =>
        this.deps.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.deps.table]: {
                Keys: keys.slice(start, start + BATCH_GET_LIMIT).map((key) => ({ [k.partitionKey]: key })),
              },
            },
          }),
        ),
      );
      for (const item of out.Responses?.[this.deps.table] ?? []) {
        if (Number(item[k.ttlAttribute]) > now) found.set(String(item[k.partitionKey]), item.value as T);
      }
    }
    return found;
  }

  /** The table items of answers, expiring TTL seconds from now. */
  items(entries: Array<[string, T]>): Record<string, unknown>[] {
    const k = RESULT_CACHE_TABLE_KEYS;
    const expiresAt = this.nowSeconds() + this.deps.ttlSeconds;
    return entries.map(([key, value]) => ({ [k.partitionKey]: key, value, [k.ttlAttribute]: expiresAt }));
  }

  get table(): string {
    return this.deps.table;
  }

  async putMany(entries: Array<[string, T]>): Promise<void> {
    const items = this.items(entries);
    const { BatchWriteCommand } = await dynamoSdk();
    for (let start = 0; start < items.length; start += BATCH_WRITE_LIMIT) {
      await this.send(() =>
        this.deps.client.send(
          new BatchWriteCommand({
            RequestItems: {
              [this.deps.table]: items
                .slice(start, start + BATCH_WRITE_LIMIT)
                .map((Item) => ({ PutRequest: { Item } })),
            },
          }),
        ),
      );
    }
  }
}

/** The capabilities with a result cache; each has its own in-container LRU over the one table. */
export type CachedCapability = 'predict' | 'translate' | 'detect';

const caches = new Map<CachedCapability, TieredResultCache<unknown>>();
let store: DynamoResultStore<unknown> | undefined | null;

/**
 * A capability's process-wide result cache (memory LRU, then DynamoDB), or undefined
 * when `RESULT_CACHE_ENABLED=false`. Every capability shares one table (keys embed the
 * model version, so they never collide); its DynamoDB writes are deferred: the
 * prediction log sends them with the request's records (`pendingCacheWrites`).
 */
export const resultCacheOf = <T>(capability: CachedCapability): TieredResultCache<T> | undefined => {
  const c = config();
  if (store === undefined) {
    store = c.RESULT_CACHE_ENABLED
      ? new DynamoResultStore<unknown>({
          // Made on the first lookup: a cold request that skips the shared tier makes none.
          client: requestPathClient(c),
          table: c.RESULT_CACHE_TABLE,
          ttlSeconds: c.RESULT_CACHE_TTL_SECONDS,
          breaker: requestPathBreaker,
        })
      : null;
  }
  if (!store) return undefined;
  let cache = caches.get(capability);
  if (!cache) {
    cache = new TieredResultCache<unknown>({
      maxEntries: c.RESULT_CACHE_MAX_ENTRIES,
      shared: store,
      sharedPolicy: c.RESULT_CACHE_SHARED,
      deferSharedWrites: true,
      coldLookupMinBytes: c.RESULT_CACHE_COLD_LOOKUP_MIN_BYTES,
      onSharedError: (error) =>
        logger.warn('result cache unavailable; answering by inference', { error: errorMessage(error), capability }),
    });
    caches.set(capability, cache);
  }
  return cache as TieredResultCache<T>;
};

/** The classification result cache (`/v1/predict`, batch, compare, ensembles). */
export const resultCache = (): TieredResultCache<Classification> | undefined => resultCacheOf('predict');

/**
 * Every result cache's queued DynamoDB writes as table items, emptied: the prediction log
 * prints them on the request's records line, and the ingester writes them beside the records.
 */
export const pendingCacheWrites = (): Record<string, unknown>[] | undefined => {
  const pending = [...caches.values()].flatMap((cache) => cache.takePendingWrites());
  return pending.length > 0 && store ? store.items(pending) : undefined;
};
