import { createHash } from 'node:crypto';

/**
 * The result cache of inference answers: an in-container LRU in front of a shared store
 * (DynamoDB in production, see `layers/predictions/cache.ts`). Plain TypeScript: the
 * shared tier is an interface so tasks and tests can run without AWS.
 */

/** The shared tier: many containers read and write it; entries expire by TTL. */
export interface SharedResultStore<T> {
  getMany(keys: string[]): Promise<Map<string, T>>;
  putMany(entries: Array<[string, T]>): Promise<void>;
}

/** Where an answer came from, per text: `memory` and `shared` are cache hits. */
export type CacheSource = 'memory' | 'shared' | 'inference';

export interface ResultCacheStats {
  memoryHits: number;
  sharedHits: number;
  misses: number;
  /** Entries in the in-container tier now. */
  size: number;
}

/**
 * The cache key: sha256 over the resolved `name@version`, the options that change the
 * answer (canonical JSON, sorted keys) and the text. A resolved version (never an
 * alias) keeps an alias switch from serving the previous version's answers.
 *
 * @example
 * resultCacheKey('tiny-distilbert-sentiment@1', {}, 'ok'); // => '5c0e…' (64 hex characters)
 */
export const resultCacheKey = (modelAtVersion: string, options: Record<string, unknown>, text: string): string => {
  const canonical = JSON.stringify(options, Object.keys(options).sort());
  return createHash('sha256').update(`${modelAtVersion}\n${canonical}\n${text}`).digest('hex');
};

/**
 * A bounded least-recently-used map. Hand-written because the project has no LRU
 * dependency and a Map (insertion order) makes one in a few lines; `lru-cache` would do
 * if it is ever added.
 *
 * @example
 * const lru = new Lru<number>(2); lru.set('a', 1); lru.set('b', 2); lru.set('c', 3);
 * lru.get('a'); // => undefined (evicted)
 */
export class Lru<T> {
  private readonly entries = new Map<string, T>();
  constructor(readonly maxEntries: number) {}

  get(key: string): T | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: T): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Two tiers: memory first, then the shared store for what memory lacks; `fill` stores
 * fresh answers in both. A failing shared tier is treated as a miss (and reported through
 * `onSharedError`): the cache must never fail a request that inference can answer.
 *
 * @example
 * const cache = new TieredResultCache<Answer>({ maxEntries: 1000, shared });
 * const { found } = await cache.lookup(keys); // Map key -> { value, source }
 */
export class TieredResultCache<T> {
  private readonly memory: Lru<T>;
  private readonly counts = { memoryHits: 0, sharedHits: 0, misses: 0 };

  constructor(
    private readonly deps: {
      maxEntries: number;
      shared?: SharedResultStore<T>;
      onSharedError?: (error: unknown) => void;
    },
  ) {
    this.memory = new Lru<T>(deps.maxEntries);
  }

  async lookup(keys: string[]): Promise<Map<string, { value: T; source: Exclude<CacheSource, 'inference'> }>> {
    const found = new Map<string, { value: T; source: Exclude<CacheSource, 'inference'> }>();
    const missing: string[] = [];
    for (const key of keys) {
      const value = this.memory.get(key);
      if (value === undefined) missing.push(key);
      else found.set(key, { value, source: 'memory' });
    }
    if (missing.length > 0 && this.deps.shared) {
      const fromShared = await this.deps.shared.getMany([...new Set(missing)]).catch((error: unknown) => {
        this.deps.onSharedError?.(error);
        return new Map<string, T>();
      });
      for (const [key, value] of fromShared) {
        this.memory.set(key, value);
        found.set(key, { value, source: 'shared' });
      }
    }
    for (const key of keys) {
      const hit = found.get(key);
      if (!hit) this.counts.misses += 1;
      else if (hit.source === 'memory') this.counts.memoryHits += 1;
      else this.counts.sharedHits += 1;
    }
    return found;
  }

  async fill(entries: Array<[string, T]>): Promise<void> {
    for (const [key, value] of entries) this.memory.set(key, value);
    if (entries.length > 0 && this.deps.shared) {
      await this.deps.shared.putMany(entries).catch((error: unknown) => this.deps.onSharedError?.(error));
    }
  }

  stats(): ResultCacheStats {
    return { ...this.counts, size: this.memory.size };
  }
}
