import { describe, expect, it } from 'vitest';
import type { ModelRuntime } from '#runtime/models.ts';
import {
  FIRST_LOOKUP_MS,
  Lru,
  PROBE_EVERY,
  resultCacheKey,
  type SharedResultStore,
  SharedTierAdvisor,
  TieredResultCache,
} from '#runtime/result-cache.ts';
import type { Classification, Classifier } from '#tasks/classification/index.ts';
import { inferenceCounter, predict } from '#tasks/classification/predict.ts';
import { answer } from '../../../helpers/classification.ts';

const mapStore = () => {
  const data = new Map<string, Classification>();
  const store: SharedResultStore<Classification> = {
    getMany: async (keys) => new Map(keys.flatMap((k) => (data.has(k) ? [[k, data.get(k)!] as const] : []))),
    putMany: async (entries) => {
      for (const [k, v] of entries) data.set(k, v);
    },
  };
  return { data, store };
};

/** A runtime whose one classifier answers by text length and counts the texts it sees. */
const fakeRuntime = (version = '1') => {
  const seen: string[] = [];
  const classifier = {
    labels: ['NEGATIVE', 'POSITIVE'],
    activation: 'softmax',
    classify: async (texts: string[]) => {
      seen.push(...texts);
      return texts.map((t) => answer(t.length % 2 ? 'POSITIVE' : 'NEGATIVE', 0.6 + t.length / 100));
    },
    dispose: async () => undefined,
  } satisfies Classifier;
  const runtime = {
    registry: { resolve: async (ref: string) => ({ name: ref.split('@')[0]!, version, canary: false }) },
    loadResolved: async () => ({ value: classifier }),
    coldBytes: async () => undefined,
  } as unknown as ModelRuntime;
  return { runtime, seen };
};

describe('Lru', () => {
  it('evicts the least recently used entry past its bound', () => {
    const lru = new Lru<number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a'); // a is now the most recent

    lru.set('c', 3);

    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual([1, undefined, 3]);
    expect(lru.size).toBe(2);
  });

  it('keeps nothing with a bound of 0', () => {
    const lru = new Lru<number>(0);
    lru.set('a', 1);

    expect(lru.get('a')).toBeUndefined();
  });
});

describe('resultCacheKey', () => {
  it('differs by version, options and text, not by option order', () => {
    const k = resultCacheKey('m@1', { a: 1, b: 2 }, 'x');

    expect(k).toMatch(/^[a-f0-9]{64}$/);
    expect(resultCacheKey('m@1', { b: 2, a: 1 }, 'x')).toBe(k);
    expect(resultCacheKey('m@2', { a: 1, b: 2 }, 'x')).not.toBe(k);
    expect(resultCacheKey('m@1', { a: 1, b: 3 }, 'x')).not.toBe(k);
    expect(resultCacheKey('m@1', { a: 1, b: 2 }, 'y')).not.toBe(k);
  });
});

describe('TieredResultCache', () => {
  it('answers from memory, then from the shared tier, and counts each', async () => {
    const { store } = mapStore();
    const writer = new TieredResultCache<Classification>({ maxEntries: 10, shared: store });
    await writer.fill([['k1', answer('POSITIVE', 0.9)]]);
    const reader = new TieredResultCache<Classification>({ maxEntries: 10, shared: store });

    const first = await reader.lookup(['k1', 'k2']);
    const second = await reader.lookup(['k1']);

    expect(first.get('k1')?.source).toBe('shared');
    expect(first.has('k2')).toBe(false);
    expect(second.get('k1')?.source).toBe('memory');
    expect(reader.stats()).toMatchObject({ memoryHits: 1, sharedHits: 1, misses: 1, size: 1 });
  });

  it('treats a failing shared tier as a miss and reports it', async () => {
    const errors: unknown[] = [];
    const cache = new TieredResultCache<Classification>({
      maxEntries: 10,
      shared: { getMany: () => Promise.reject(new Error('down')), putMany: () => Promise.reject(new Error('down')) },
      onSharedError: (e) => errors.push(e),
    });

    const found = await cache.lookup(['k']);
    await cache.fill([['k', answer('NEGATIVE', 0.7)]]);

    expect(found.size).toBe(0);
    expect(errors).toHaveLength(2);
  });
});

describe('SharedTierAdvisor (RESULT_CACHE_SHARED=auto)', () => {
  it('looks up until the model is measured, then skips lookups that cannot pay, probing now and then', () => {
    const advisor = new SharedTierAdvisor();
    expect(advisor.shouldLookup('m@1', 1)).toBe(true);
    advisor.recordInference('m@1', 5, 1);
    // A 2 ms lookup that never finds anything, against 5 ms of inference per text.
    const decisions: boolean[] = [];
    for (let i = 0; i < 60; i++) {
      const lookup = advisor.shouldLookup('m@1', 1);
      decisions.push(lookup);
      if (lookup) advisor.recordLookup('m@1', 2, 1, 0);
    }

    const lookups = decisions.filter(Boolean).length;
    // No lookup measured yet: taken at FIRST_LOOKUP_MS (the SDK's first call), more than 5 ms saves.
    expect(decisions[0]).toBe(false);
    expect(decisions.indexOf(true)).toBe(PROBE_EVERY - 1); // the first probe
    expect(decisions.slice(-PROBE_EVERY)).toContain(true); // a later probe
    expect(lookups).toBeLessThan(60 / 4);
    expect(advisor.skippedLookups).toBe(60 - lookups);
  });

  it('keeps the tier while it finds answers, and for a slow model even at a low hit rate', () => {
    const hits = new SharedTierAdvisor();
    hits.recordInference('m@1', 5, 1);
    hits.recordLookup('m@1', 2, 1, 1);
    const slow = new SharedTierAdvisor();
    slow.recordInference('big@1', 400, 1);
    for (let i = 0; i < 40; i++) {
      expect(hits.shouldLookup('m@1', 1)).toBe(true);
      hits.recordLookup('m@1', 2, 1, 1);
      expect(slow.shouldLookup('big@1', 1)).toBe(true);
      slow.recordLookup('big@1', 2, 1, i % 5 === 0 ? 1 : 0); // one in five found
    }
  });

  it('takes a lookup not yet made at FIRST_LOOKUP_MS: a model slower per missing text is looked up at once', () => {
    const advisor = new SharedTierAdvisor();
    advisor.recordInference('fast@1', 0.1, 1);
    advisor.recordInference('slow@1', FIRST_LOOKUP_MS * 2, 1);

    expect(advisor.shouldLookup('fast@1', 1)).toBe(false);
    expect(advisor.shouldLookup('fast@1', 1000)).toBe(true); // 1000 texts × 0.1 ms
    expect(advisor.shouldLookup('slow@1', 1)).toBe(true);
  });
});

describe('SharedTierAdvisor on an instance that has not loaded the model', () => {
  it('skips the unmeasured lookup of a small cold model, keeps it for a large one, and measures as before', async () => {
    const { data, store } = mapStore();
    let asked = 0;
    const counting: SharedResultStore<Classification> = {
      ...store,
      getMany: async (keys) => {
        asked += 1;
        return store.getMany(keys);
      },
    };
    data.set('k', answer('POSITIVE', 0.9));
    /** An instance's cache: 8 MB the least for a cold model's unmeasured lookup. */
    const instance = (policy: 'auto' | 'always' = 'auto') =>
      new TieredResultCache<Classification>({
        maxEntries: 10,
        shared: counting,
        sharedPolicy: policy,
        coldLookupMinBytes: 8_000_000,
      });
    const cache = instance();

    const small = await cache.lookup(['k'], 'lid176@1', 3_800_000);
    const large = await cache.lookup(['k'], 'distilbert@1', 260_000_000);
    const loaded = await cache.lookup(['k2'], 'lid176@1', undefined);

    expect([small.size, large.get('k')?.source, loaded.size]).toEqual([0, 'shared', 0]);
    expect(asked).toBe(2);
    expect(cache.stats().skippedSharedLookups).toBe(1);
    // On another instance: the small model answers (0.1 ms a text, its load not counted), and
    // its next miss, loaded, skips too: no lookup was measured, and the first costs more.
    const other = instance();
    await other.lookup(['k5'], 'lid176@1', 3_800_000);
    await other.fill([['k5', answer('NEGATIVE', 0.6)]], 'lid176@1', 0.1);
    await other.lookup(['k6'], 'lid176@1', undefined);
    expect(asked).toBe(2);
    expect(other.stats().skippedSharedLookups).toBe(2);
    // `always` asks whatever the model's size.
    expect((await instance('always').lookup(['k'], 'lid176@1', 3_800_000)).get('k')?.source).toBe('shared');
    expect(asked).toBe(3);
  });
});

describe('TieredResultCache writes', () => {
  it('queues shared writes for the owner to send (deferSharedWrites), and writes at once without', async () => {
    const deferred = mapStore();
    const cache = new TieredResultCache<Classification>({
      maxEntries: 10,
      shared: deferred.store,
      deferSharedWrites: true,
    });
    const direct = mapStore();
    const plain = new TieredResultCache<Classification>({ maxEntries: 10, shared: direct.store });

    await cache.fill([['k', answer('POSITIVE', 0.9)]]);
    await plain.fill([['k', answer('POSITIVE', 0.9)]]);

    expect(deferred.data.size).toBe(0);
    expect(cache.takePendingWrites()).toEqual([['k', answer('POSITIVE', 0.9)]]);
    expect(cache.takePendingWrites()).toEqual([]);
    expect(direct.data.has('k')).toBe(true);
    expect((await cache.lookup(['k'])).get('k')?.source).toBe('memory');
  });

  it('reads and writes no shared tier with the never policy', async () => {
    const { data, store } = mapStore();
    data.set('k', answer('NEGATIVE', 0.8));
    const cache = new TieredResultCache<Classification>({ maxEntries: 10, shared: store, sharedPolicy: 'never' });

    const found = await cache.lookup(['k']);
    await cache.fill([['j', answer('POSITIVE', 0.9)]]);

    expect(found.size).toBe(0);
    expect(data.has('j')).toBe(false);
    expect(cache.stats().sharedPolicy).toBe('never');
  });
});

describe('predict through the cache', () => {
  it('returns the stored answer, equal to the uncached one, without running inference', async () => {
    const { runtime, seen } = fakeRuntime();
    const cache = new TieredResultCache<Classification>({ maxEntries: 10 });
    const before = inferenceCounter.texts;

    const cold = await predict(runtime, 'm@1', ['abc', 'de'], { cache });
    const warm = await predict(runtime, 'm@1', ['abc', 'de'], { cache });

    expect(cold.results.map((r) => r.cached)).toEqual([false, false]);
    expect(warm.results.map((r) => r.cached)).toEqual([true, true]);
    expect(warm.results.map(({ cached: _c, source: _s, ...r }) => r)).toEqual(
      cold.results.map(({ cached: _c, source: _s, ...r }) => r),
    );
    expect(seen).toEqual(['abc', 'de']);
    expect(inferenceCounter.texts - before).toBe(2);
    expect(warm.inferenceMs).toBe(0);
  });

  it('keys by the resolved version: another version is a miss', async () => {
    const cache = new TieredResultCache<Classification>({ maxEntries: 10 });
    await predict(fakeRuntime('1').runtime, 'm@prod', ['abc'], { cache });
    const { runtime, seen } = fakeRuntime('2');

    const out = await predict(runtime, 'm@prod', ['abc'], { cache });

    expect(out.results[0]!.cached).toBe(false);
    expect(seen).toEqual(['abc']);
  });

  it('classifies a text repeated in one batch once', async () => {
    const { runtime, seen } = fakeRuntime();

    const out = await predict(runtime, 'm@1', ['same', 'same', 'other'], {
      cache: new TieredResultCache({ maxEntries: 10 }),
    });

    expect(seen).toEqual(['same', 'other']);
    expect(out.results[0]).toEqual(out.results[1]);
  });
});
