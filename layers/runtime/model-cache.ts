/** One entry of the in-memory model cache, as `/v1/status` shows it. */
export interface CacheEntryInfo {
  key: string;
  loadMs: number;
  loadedAt: string;
  lastUsedAt: string;
  hits: number;
}

interface Entry<T> {
  value: Promise<T>;
  info: CacheEntryInfo;
}

/**
 * A lazy cache of loaded models (tokenizer + ONNX sessions), keyed by `name@version`,
 * bounded by entry count with least-recently-used eviction: a function that serves
 * many models by name (completions) must not grow until Lambda kills it. Concurrent
 * requests for a model that is loading share one load.
 *
 * @example
 * const cache = new ModelCache<Session>({ maxEntries: 2, dispose: (s) => s.release() });
 * const s = await cache.get('gpt2@1', () => loadSession()); // loads once, then hits
 */
export class ModelCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly options: {
      maxEntries: number;
      dispose?: (value: T) => Promise<void> | void;
      /** Called when a loaded entry leaves the cache (least recently used). */
      onEvicted?: (key: string) => void;
    },
  ) {}

  async get(key: string, load: () => Promise<T>): Promise<T> {
    const now = new Date().toISOString();
    const hit = this.entries.get(key);
    if (hit) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      hit.info.lastUsedAt = now;
      hit.info.hits += 1;
      return hit.value;
    }
    const started = performance.now();
    const info: CacheEntryInfo = { key, loadMs: 0, loadedAt: now, lastUsedAt: now, hits: 0 };
    const value = load().then((v) => {
      info.loadMs = Math.round(performance.now() - started);
      return v;
    });
    this.entries.set(key, { value, info });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    this.evict();
    return value;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  info(): CacheEntryInfo[] {
    return [...this.entries.values()].map((e) => ({ ...e.info }));
  }

  private evict(): void {
    while (this.entries.size > this.options.maxEntries) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry<T>];
      this.entries.delete(oldest);
      this.options.onEvicted?.(oldest);
      void entry.value.then((v) => this.options.dispose?.(v)).catch(() => undefined);
    }
  }
}
