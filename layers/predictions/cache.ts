import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { logger } from '#observability/index.ts';
import { config } from '#runtime/config.ts';
import { type SharedResultStore, TieredResultCache } from '#runtime/result-cache.ts';
import type { Classification } from '#tasks/classification/index.ts';
import type { Breaker } from './breaker.ts';
import { makeDocumentClient, REQUEST_PATH_CLIENT, requestPathBreaker } from './client.ts';
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
      client: DynamoDBDocumentClient;
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

  async putMany(entries: Array<[string, T]>): Promise<void> {
    const k = RESULT_CACHE_TABLE_KEYS;
    const expiresAt = this.nowSeconds() + this.deps.ttlSeconds;
    for (let start = 0; start < entries.length; start += BATCH_WRITE_LIMIT) {
      await this.send(() =>
        this.deps.client.send(
          new BatchWriteCommand({
            RequestItems: {
              [this.deps.table]: entries.slice(start, start + BATCH_WRITE_LIMIT).map(([key, value]) => ({
                PutRequest: { Item: { [k.partitionKey]: key, value, [k.ttlAttribute]: expiresAt } },
              })),
            },
          }),
        ),
      );
    }
  }
}

let shared: TieredResultCache<Classification> | undefined | null;
/**
 * The process-wide classification result cache (memory LRU, then DynamoDB), or
 * undefined when `RESULT_CACHE_ENABLED=false`.
 */
export const resultCache = (): TieredResultCache<Classification> | undefined => {
  if (shared === undefined) {
    const c = config();
    shared = c.RESULT_CACHE_ENABLED
      ? new TieredResultCache<Classification>({
          maxEntries: c.RESULT_CACHE_MAX_ENTRIES,
          shared: new DynamoResultStore({
            client: makeDocumentClient(c, REQUEST_PATH_CLIENT),
            table: c.RESULT_CACHE_TABLE,
            ttlSeconds: c.RESULT_CACHE_TTL_SECONDS,
            breaker: requestPathBreaker,
          }),
          onSharedError: (error) =>
            logger.warn('result cache unavailable; answering by inference', {
              error: error instanceof Error ? error.message : String(error),
            }),
        })
      : null;
  }
  return shared ?? undefined;
};
