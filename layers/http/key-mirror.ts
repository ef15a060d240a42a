import { createHash } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { type DocumentSender, dynamoSdk } from '#predictions/dynamo.ts';
import { API_KEYS_TABLE_KEYS } from '#predictions/schema.ts';
import type { KeySource, KnownKey } from './key-source.ts';

/**
 * The DynamoDB mirror of API Gateway's keys and usage plans that body-keyed requests are
 * checked against (docs/keys.md). The inference functions run in isolated subnets that reach
 * DynamoDB (gateway endpoint) but not API Gateway's control plane, so the key-sync function
 * (`functions/key-sync/`, outside the VPC) lists the keys and writes them here
 * (`syncKeyMirror`), and the functions read one item per key (`dynamoKeySource`). Items are
 * keyed by the SHA-256 of the key's value: the table never holds a usable key.
 */

/** The item's key: the SHA-256 of the API key's value, in hex. */
export const keyHash = (value: string): string => createHash('sha256').update(value).digest('hex');

/** One mirrored key. An unlimited throttle number is left out (DynamoDB numbers cannot be Infinity). */
const MirroredKey = z.object({
  [API_KEYS_TABLE_KEYS.partitionKey]: z.string(),
  id: z.string(),
  enabled: z.boolean(),
  rate: z.number().optional(),
  burst: z.number().optional(),
  quota: z.number().optional(),
  /** The usage plan's name (fair use's per-plan allowances), when the listing knows it. */
  plan: z.string().optional(),
});
type MirroredKey = z.infer<typeof MirroredKey>;

const finite = (n: number): number | undefined => (Number.isFinite(n) ? n : undefined);

const toItem = (hash: string, key: KnownKey, plan: NonNullable<KnownKey['plan']>): MirroredKey => {
  const item: MirroredKey = { keyHash: hash, id: key.id, enabled: key.enabled };
  const rate = finite(plan.rate);
  const burst = finite(plan.burst);
  if (rate !== undefined) item.rate = rate;
  if (burst !== undefined) item.burst = burst;
  if (plan.quota !== undefined) item.quota = plan.quota;
  if (plan.name !== undefined) item.plan = plan.name;
  return item;
};

const fromItem = (item: MirroredKey): KnownKey => ({
  id: item.id,
  enabled: item.enabled,
  plan: {
    rate: item.rate ?? Number.POSITIVE_INFINITY,
    burst: item.burst ?? Number.POSITIVE_INFINITY,
    ...(item.quota === undefined ? {} : { quota: item.quota }),
    ...(item.plan === undefined ? {} : { name: item.plan }),
  },
});

/** Same key id, flag, plan and numbers (attribute order aside). */
const sameItem = (a: MirroredKey, b: MirroredKey): boolean =>
  a.id === b.id &&
  a.enabled === b.enabled &&
  a.rate === b.rate &&
  a.burst === b.burst &&
  a.quota === b.quota &&
  a.plan === b.plan;

/** What one sync changed, by count: what the key-sync function logs. */
export interface KeySyncResult {
  /** Keys in a plan that the mirror did not have. */
  added: number;
  /** Mirrored keys whose id, enabled flag, plan or plan numbers changed (a key disabled since the last sync is one). */
  changed: number;
  /** Mirrored keys that are no longer in the source or in any plan: deleted. */
  removed: number;
  unchanged: number;
}

/** Writes in flight at once: enough to mirror a few thousand keys within the function's timeout. */
const WRITE_CONCURRENCY = 16;

/**
 * Makes the mirror table equal to `keys` (a full listing, by value: `listApiGatewayKeysWithPlans`
 * in AWS, the emulator's keys locally): every key that is in a usage plan is put (enabled or
 * not, with its plan's name and numbers) where new or different, and every mirrored key that is no
 * longer listed or no longer in a plan is deleted. A diff against a Scan of the table, so a
 * sync with nothing changed writes nothing. The caller must pass a complete listing: a key
 * missing from it is deleted (a failed listing throws before anything is written).
 *
 * @example
 * await syncKeyMirror(client, 'api-keys', await listApiGatewayKeysWithPlans(apiGateway));
 * // => { added: 1, changed: 0, removed: 0, unchanged: 12 }
 */
export const syncKeyMirror = async (
  client: DynamoDBDocumentClient,
  table: string,
  keys: ReadonlyMap<string, KnownKey>,
): Promise<KeySyncResult> => {
  const wanted = new Map<string, MirroredKey>();
  for (const [value, key] of keys) {
    if (!key.plan) continue;
    const hash = keyHash(value);
    wanted.set(hash, toItem(hash, key, key.plan));
  }
  const current = new Map<string, MirroredKey>();
  // The key sync's own calls: imported here, so the serving functions that read the mirror do not load them.
  const { DeleteCommand, PutCommand, paginateScan } = await import('@aws-sdk/lib-dynamodb');
  for await (const page of paginateScan({ client }, { TableName: table })) {
    for (const raw of page.Items ?? []) {
      const item = MirroredKey.safeParse(raw);
      // An item that is not a mirrored key (hand-written, an older shape) is replaced or removed.
      const hash = item.success ? item.data.keyHash : String(raw[API_KEYS_TABLE_KEYS.partitionKey]);
      current.set(hash, item.success ? item.data : { keyHash: hash, id: '', enabled: false });
    }
  }
  const result: KeySyncResult = { added: 0, changed: 0, removed: 0, unchanged: 0 };
  const writes: (() => Promise<unknown>)[] = [];
  for (const [hash, item] of wanted) {
    const had = current.get(hash);
    if (had && sameItem(had, item)) {
      result.unchanged++;
      continue;
    }
    result[had ? 'changed' : 'added']++;
    writes.push(() => client.send(new PutCommand({ TableName: table, Item: item })));
  }
  for (const hash of current.keys()) {
    if (wanted.has(hash)) continue;
    result.removed++;
    writes.push(() =>
      client.send(new DeleteCommand({ TableName: table, Key: { [API_KEYS_TABLE_KEYS.partitionKey]: hash } })),
    );
  }
  for (let i = 0; i < writes.length; i += WRITE_CONCURRENCY) {
    await Promise.all(writes.slice(i, i + WRITE_CONCURRENCY).map((write) => write()));
  }
  return result;
};

export interface MirrorCacheOptions {
  /** How long a found key is trusted: a key disabled in API Gateway works this long after the next sync at most. */
  positiveMs?: number;
  /** How long "no such key" is trusted: a new key waits this long after the sync that mirrors it at most. */
  negativeMs?: number;
  /** Cached lookups kept (the oldest dropped first): unknown keys sent in bulk cannot grow the cache without bound. */
  maxEntries?: number;
  now?: () => number;
}

/** Defaults of `dynamoKeySource`: the authorizer's listing TTL for found keys, a sixth of it for unknown ones. */
export const MIRROR_CACHE = { positiveMs: 60_000, negativeMs: 10_000, maxEntries: 10_000 } as const;

/**
 * A key source over the mirror table: one GetItem by the key's hash (eventually consistent:
 * the mirror changes once a minute at most), the answer cached per instance,
 * `positiveMs` for a key found and `negativeMs` for one not found. Concurrent lookups of
 * one key share one read. A failed read throws and caches nothing.
 *
 * @example
 * const source = dynamoKeySource(requestPathClient(config()), 'api-keys');
 * await source.lookup('k'); // => { id: 'abc123', enabled: true, plan: { rate: 10, burst: 20, quota: 1000, name: 'hf-serve-dev-free' } }
 */
export const dynamoKeySource = (client: DocumentSender, table: string, options: MirrorCacheOptions = {}): KeySource => {
  const { positiveMs, negativeMs, maxEntries } = { ...MIRROR_CACHE, ...options };
  const now = options.now ?? Date.now;
  const cache = new Map<string, { key: KnownKey | undefined; until: number }>();
  const pending = new Map<string, Promise<KnownKey | undefined>>();
  const read = async (hash: string): Promise<KnownKey | undefined> => {
    const { GetCommand } = await dynamoSdk();
    const out = await client.send(
      new GetCommand({ TableName: table, Key: { [API_KEYS_TABLE_KEYS.partitionKey]: hash } }),
    );
    const item = out.Item ? MirroredKey.safeParse(out.Item) : undefined;
    const key = item?.success ? fromItem(item.data) : undefined;
    cache.delete(hash);
    cache.set(hash, { key, until: now() + (key ? positiveMs : negativeMs) });
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    return key;
  };
  return {
    lookup(value) {
      const hash = keyHash(value);
      const hit = cache.get(hash);
      if (hit && now() < hit.until) return Promise.resolve(hit.key);
      let reading = pending.get(hash);
      if (!reading) {
        reading = read(hash).finally(() => pending.delete(hash));
        pending.set(hash, reading);
      }
      return reading;
    },
  };
};
