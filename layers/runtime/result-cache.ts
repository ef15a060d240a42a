import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

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
  sharedPolicy: SharedTierPolicy;
  /** Shared lookups the `auto` policy skipped as not worth a round trip. */
  skippedSharedLookups: number;
}

/**
 * The cache key: sha256 over the caller's namespace, the resolved `name@version`, the
 * options that change the answer (canonical JSON, sorted keys) and the text. A resolved
 * version (never an alias) keeps an alias switch from serving the previous version's
 * answers. `tenant` (the caller's hashed key id) namespaces every entry, so one key never
 * hits another key's texts: a `cached: true` would tell key B that key A sent exactly
 * this text (issue 23). Keyless calls share the empty namespace.
 *
 * @example
 * resultCacheKey('tiny-distilbert-sentiment@1', {}, 'ok', 'a1b2c3'); // => '5c0e…' (64 hex characters)
 */
export const resultCacheKey = (
  modelAtVersion: string,
  options: Record<string, unknown>,
  text: string,
  tenant?: string,
): string => {
  const canonical = JSON.stringify(options, Object.keys(options).sort());
  const namespace = tenant ? `tenant:${tenant}\n` : '';
  return createHash('sha256').update(`${namespace}${modelAtVersion}\n${canonical}\n${text}`).digest('hex');
};

/**
 * A bounded least-recently-used map: `lru-cache`'s, with a bound of 0 keeping nothing.
 * The hand-written Map version it replaces evicted with `keys().next()`, which in V8 walks
 * over every entry deleted since the table was last rehashed: once full, each miss cost
 * 9-11 µs (a microbenchmark of get + set, 10,000 entries, unique keys), against
 * 0.2-0.3 µs here, more than lid.176's whole inference per text (6 µs in a batch).
 *
 * @example
 * const lru = new Lru<number>(2); lru.set('a', 1); lru.set('b', 2); lru.set('c', 3);
 * lru.get('a'); // => undefined (evicted)
 */
export class Lru<T> {
  // Values are boxed: lru-cache takes no undefined or null value, and T may hold either.
  private readonly entries: LRUCache<string, { value: T }> | undefined;
  constructor(readonly maxEntries: number) {
    this.entries = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  get(key: string): T | undefined {
    return this.entries?.get(key)?.value;
  }

  set(key: string, value: T): void {
    this.entries?.set(key, { value });
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}

/**
 * When the shared tier is read: `always`, `never`, or `auto`: only while a lookup is
 * expected to save more time than it costs (see SharedTierAdvisor).
 */
export type SharedTierPolicy = 'always' | 'never' | 'auto';

/** Every this many skipped lookups of one model, one goes to the shared tier anyway (a probe). */
export const PROBE_EVERY = 16;

/**
 * What a lookup is taken to cost until this process has made one: its first DynamoDB call,
 * which imports the AWS SDK and sets its client up besides the round trip (40-70 ms on
 * detect's cold start here). A model measured faster than that per missing text waits for
 * a probe before its first lookup; a slow one is looked up at once.
 */
export const FIRST_LOOKUP_MS = 50;
const EWMA = 0.1;
const ewma = (previous: number | undefined, sample: number): number =>
  previous === undefined ? sample : previous + EWMA * (sample - previous);

/**
 * Decides, per model version, whether a shared-tier lookup pays: it costs one round trip
 * (measured: the average lookup time) and saves, for `n` texts missing from memory, about
 * `hitRate × n × inference time per text` (both measured). A fast model under traffic
 * that never repeats (every lookup a miss) then stops paying a network round trip per
 * request that only ever adds latency; a probe every PROBE_EVERY skipped lookups keeps
 * the estimates current, so the tier comes back when texts start repeating. Until a
 * model has been measured, the tier is used.
 *
 * @example
 * const advisor = new SharedTierAdvisor();
 * advisor.recordInference('m@1', 5, 1); advisor.recordLookup('m@1', 2, 1, 0); // 5 ms per text, a 2 ms lookup that missed
 * advisor.shouldLookup('m@1', 1); // => false: hit rate 0 saves nothing (true again at the next probe)
 * new SharedTierAdvisor({ coldLookupMinBytes: 8e6 }).shouldLookup('lid176@1', 1, 3.8e6); // => false: loads as fast as a first lookup
 */
export class SharedTierAdvisor {
  private lookupMs: number | undefined;
  constructor(private readonly options: { coldLookupMinBytes?: number } = {}) {}

  // Model versions are few per container (MODEL_CACHE_MAX_ENTRIES); bound them anyway.
  private readonly models = new Lru<{ inferenceMsPerText?: number; hitRate: number; skipped: number }>(256);
  /** Lookups skipped because they would not have paid (for `/v1/status`). */
  skippedLookups = 0;

  private model(scope: string) {
    let m = this.models.get(scope);
    if (!m) {
      m = { hitRate: 1, skipped: 0 };
      this.models.set(scope, m);
    }
    return m;
  }

  /**
   * `coldModelBytes`: the model's bytes when this instance has not loaded it (a hit would
   * save its load). A model whose inference is unmeasured is looked up, except a cold one
   * smaller than `coldLookupMinBytes`, whose load costs about what the instance's first
   * lookup does; a lookup not yet measured is taken to cost `FIRST_LOOKUP_MS`.
   */
  shouldLookup(scope: string, missing: number, coldModelBytes?: number): boolean {
    const m = this.model(scope);
    if (m.inferenceMsPerText === undefined) {
      const small = coldModelBytes !== undefined && coldModelBytes < (this.options.coldLookupMinBytes ?? 0);
      if (small) this.skippedLookups += 1;
      return !small;
    }
    if (m.hitRate * missing * m.inferenceMsPerText >= (this.lookupMs ?? FIRST_LOOKUP_MS)) return true;
    m.skipped += 1;
    if (m.skipped >= PROBE_EVERY) {
      m.skipped = 0;
      return true;
    }
    this.skippedLookups += 1;
    return false;
  }

  recordLookup(scope: string, ms: number, asked: number, found: number): void {
    this.lookupMs = ewma(this.lookupMs, ms);
    const m = this.model(scope);
    m.hitRate = m.hitRate + 2 * EWMA * (found / Math.max(1, asked) - m.hitRate);
  }

  recordInference(scope: string, ms: number, texts: number): void {
    if (texts <= 0) return;
    const m = this.model(scope);
    m.inferenceMsPerText = ewma(m.inferenceMsPerText, ms / texts);
  }
}

/** Writes for the shared tier held back to go out with the request's next DynamoDB write. */
const MAX_PENDING_WRITES = 1000;

/**
 * Two tiers: memory first, then the shared store for what memory lacks (as
 * `sharedPolicy` decides); `fill` stores fresh answers in both. A failing shared tier is
 * treated as a miss (and reported through `onSharedError`): the cache must never fail a
 * request that inference can answer.
 *
 * With `deferSharedWrites`, `fill` only queues the shared writes and the owner takes
 * them with `takePendingWrites()` to send in a write it makes anyway (the prediction log's
 * BatchWrite): one round trip per request instead of two.
 *
 * @example
 * const cache = new TieredResultCache<Answer>({ maxEntries: 1000, shared });
 * const found = await cache.lookup(keys, 'model@1'); // Map key -> { value, source }
 */
export class TieredResultCache<T> {
  private readonly memory: Lru<T>;
  private readonly counts = { memoryHits: 0, sharedHits: 0, misses: 0 };
  private pending: Array<[string, T]> = [];
  readonly advisor: SharedTierAdvisor;

  constructor(
    private readonly deps: {
      maxEntries: number;
      shared?: SharedResultStore<T>;
      sharedPolicy?: SharedTierPolicy;
      deferSharedWrites?: boolean;
      onSharedError?: (error: unknown) => void;
      /** `auto`: the least bytes of a model not loaded yet for its unmeasured lookup (see SharedTierAdvisor). */
      coldLookupMinBytes?: number;
    },
  ) {
    this.memory = new Lru<T>(deps.maxEntries);
    this.advisor = new SharedTierAdvisor({ coldLookupMinBytes: deps.coldLookupMinBytes });
  }

  private get policy(): SharedTierPolicy {
    return this.deps.shared ? (this.deps.sharedPolicy ?? 'always') : 'never';
  }

  /**
   * Looks keys up; `scope` (the resolved `name@version`) is what the advisor measures per,
   * `coldModelBytes` the model's bytes when this instance has not loaded it.
   */
  async lookup(
    keys: string[],
    scope = '',
    coldModelBytes?: number,
  ): Promise<Map<string, { value: T; source: Exclude<CacheSource, 'inference'> }>> {
    const found = new Map<string, { value: T; source: Exclude<CacheSource, 'inference'> }>();
    const missing: string[] = [];
    for (const key of keys) {
      const value = this.memory.get(key);
      if (value === undefined) missing.push(key);
      else found.set(key, { value, source: 'memory' });
    }
    const unique = [...new Set(missing)];
    const policy = this.policy;
    if (
      unique.length > 0 &&
      this.deps.shared &&
      (policy === 'always' || (policy === 'auto' && this.advisor.shouldLookup(scope, unique.length, coldModelBytes)))
    ) {
      const started = performance.now();
      const fromShared = await this.deps.shared.getMany(unique).catch((error: unknown) => {
        this.deps.onSharedError?.(error);
        return new Map<string, T>();
      });
      this.advisor.recordLookup(scope, performance.now() - started, unique.length, fromShared.size);
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

  /** Stores fresh answers; `inferenceMs` (for all of them) feeds the advisor. */
  async fill(entries: Array<[string, T]>, scope = '', inferenceMs?: number): Promise<void> {
    for (const [key, value] of entries) this.memory.set(key, value);
    if (inferenceMs !== undefined) this.advisor.recordInference(scope, inferenceMs, entries.length);
    if (entries.length === 0 || !this.deps.shared || this.policy === 'never') return;
    if (this.deps.deferSharedWrites && this.pending.length + entries.length <= MAX_PENDING_WRITES) {
      this.pending.push(...entries);
      return;
    }
    // Nobody took the queue (or no deferral): write now rather than hold answers forever.
    const now = [...this.takePendingWrites(), ...entries];
    await this.deps.shared.putMany(now).catch((error: unknown) => this.deps.onSharedError?.(error));
  }

  /** The queued shared writes, emptied (see `deferSharedWrites`). */
  takePendingWrites(): Array<[string, T]> {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  stats(): ResultCacheStats {
    return {
      ...this.counts,
      size: this.memory.size,
      sharedPolicy: this.policy,
      skippedSharedLookups: this.advisor.skippedLookups,
    };
  }
}

/** What `throughCache`'s compute returns: the answers, and the model's own time for them (no load). */
export interface Computed<T> {
  values: T[];
  /** Inference alone, without the model's load: what the advisor measures per text. */
  inferenceMs: number;
}

/**
 * Answers items through a result cache (or straight through without one): looks their
 * keys up, runs `compute` once for the items it lacks (each distinct key once, in first
 * seen order), stores the fresh answers, and returns every answer in input order with
 * whether it came from the cache, and `computeMs`, compute's wall time (a cold model's load
 * included). `scope` is the resolved `name@version` the advisor measures per;
 * `coldModelBytes` the model's bytes when this instance has not loaded it
 * (`ModelRuntime.coldBytes`).
 *
 * @example
 * const out = await throughCache(cache, keys, 'lid176@1', async (missing) => ({ values: await detectAll(missing), inferenceMs: 0.1 }));
 * out.cached; // => [true, false] when only the first text was seen before
 */
export const throughCache = async <T>(
  cache: TieredResultCache<T> | undefined,
  keys: string[],
  scope: string,
  compute: (indexes: number[]) => Promise<Computed<T>>,
  coldModelBytes?: number,
): Promise<{ values: T[]; cached: boolean[]; computeMs: number }> => {
  const found = cache ? await cache.lookup(keys, scope, coldModelBytes) : new Map<string, { value: T }>();
  const firstOf = new Map<string, number>();
  for (const [i, key] of keys.entries()) if (!found.has(key) && !firstOf.has(key)) firstOf.set(key, i);
  const fresh = new Map<string, T>();
  let computeMs = 0;
  if (firstOf.size > 0) {
    const started = performance.now();
    const answers = await compute([...firstOf.values()]);
    computeMs = performance.now() - started;
    for (const [j, key] of [...firstOf.keys()].entries()) fresh.set(key, answers.values[j]!);
    await cache?.fill([...fresh.entries()], scope, answers.inferenceMs);
  }
  return {
    values: keys.map((key) => found.get(key)?.value ?? fresh.get(key)!),
    cached: keys.map((key) => found.has(key)),
    computeMs,
  };
};
