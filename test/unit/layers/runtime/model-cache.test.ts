import { describe, expect, it } from 'vitest';
import { ModelCache } from '#runtime/model-cache.ts';

describe('ModelCache', () => {
  it('loads once for concurrent requests and counts hits', async () => {
    const cache = new ModelCache<string>({ maxEntries: 2 });
    let loads = 0;
    const load = async () => `model-${++loads}`;

    const values = await Promise.all([cache.get('a@1', load), cache.get('a@1', load), cache.get('a@1', load)]);

    expect(values).toEqual(['model-1', 'model-1', 'model-1']);
    expect(loads).toBe(1);
    expect(cache.info()[0]).toMatchObject({ key: 'a@1', hits: 2 });
  });

  it('evicts the least recently used entry past the bound and disposes it', async () => {
    const disposed: string[] = [];
    const cache = new ModelCache<string>({ maxEntries: 2, dispose: (v) => void disposed.push(v) });
    await cache.get('a', async () => 'A');
    await cache.get('b', async () => 'B');
    await cache.get('a', async () => 'A2'); // a is now most recent

    await cache.get('c', async () => 'C');
    await Promise.resolve();

    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
    expect(disposed).toEqual(['B']);
  });

  it('forgets a failed load so the next request retries', async () => {
    const cache = new ModelCache<string>({ maxEntries: 2 });

    await expect(cache.get('x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');

    expect(await cache.get('x', async () => 'ok')).toBe('ok');
  });
});
