import { describe, expect, it } from 'vitest';
import type { ModelRuntime } from '#runtime/models.ts';
import { resultCacheKey, TieredResultCache, throughCache } from '#runtime/result-cache.ts';
import type { Classification, Classifier } from '#tasks/classification/index.ts';
import { predict } from '#tasks/classification/predict.ts';
import { answer } from '../../../helpers/classification.ts';

describe('resultCacheKey namespaces', () => {
  it('differs by tenant; keyless calls keep the un-namespaced key', () => {
    const a = resultCacheKey('m@1', {}, 'x', 'tenant-a');

    expect(resultCacheKey('m@1', {}, 'x', 'tenant-b')).not.toBe(a);
    expect(resultCacheKey('m@1', {}, 'x', 'tenant-a')).toBe(a);
    expect(resultCacheKey('m@1', {}, 'x')).not.toBe(a);
    expect(resultCacheKey('m@1', {}, 'x', undefined)).toBe(resultCacheKey('m@1', {}, 'x'));
  });
});

describe('throughCache', () => {
  it('computes only what the cache lacks, each distinct key once, answers in input order', async () => {
    const cache = new TieredResultCache<string>({ maxEntries: 10 });
    await cache.fill([['k2', 'two (cached)']]);
    const asked: number[][] = [];

    const out = await throughCache(cache, ['k1', 'k2', 'k1', 'k3'], 'm@1', async (indexes) => {
      asked.push(indexes);
      return { values: indexes.map((i) => `computed ${i}`), inferenceMs: 1 };
    });

    expect(asked).toEqual([[0, 3]]);
    expect(out.values).toEqual(['computed 0', 'two (cached)', 'computed 0', 'computed 3']);
    expect(out.cached).toEqual([false, true, false, false]);
    expect((await cache.lookup(['k1', 'k3'])).size).toBe(2);
  });

  it('does not compute at all when every key is cached, and computes everything without a cache', async () => {
    const cache = new TieredResultCache<string>({ maxEntries: 10 });
    await cache.fill([['k1', 'one']]);
    let calls = 0;
    const compute = async (indexes: number[]) => {
      calls += 1;
      return { values: indexes.map(String), inferenceMs: 1 };
    };

    const hit = await throughCache(cache, ['k1'], 'm@1', compute);
    const none = await throughCache(undefined, ['k1', 'k2'], 'm@1', compute);

    expect(hit).toEqual({ values: ['one'], cached: [true], computeMs: 0 });
    expect(calls).toBe(1);
    expect(none.values).toEqual(['0', '1']);
    expect(none.cached).toEqual([false, false]);
  });
});

describe('predict across tenants', () => {
  it("never answers one tenant from another tenant's entry", async () => {
    let classified = 0;
    const classifier = {
      labels: ['NEGATIVE', 'POSITIVE'],
      activation: 'softmax',
      classify: async (texts: string[]) => {
        classified += texts.length;
        return texts.map(() => answer('POSITIVE', 0.9));
      },
      dispose: async () => undefined,
    } satisfies Classifier;
    const runtime = {
      registry: { resolve: async (ref: string) => ({ name: ref, version: '1', canary: false }) },
      loadResolved: async () => ({ value: classifier }),
      coldBytes: async () => undefined,
    } as unknown as ModelRuntime;
    const cache = new TieredResultCache<Classification>({ maxEntries: 10 });

    const a = await predict(runtime, 'm', ['secret'], { cache, tenant: 'a' });
    const aAgain = await predict(runtime, 'm', ['secret'], { cache, tenant: 'a' });
    const b = await predict(runtime, 'm', ['secret'], { cache, tenant: 'b' });

    expect([a, aAgain, b].map((o) => o.results[0]!.cached)).toEqual([false, true, false]);
    expect(classified).toBe(2);
  });
});
