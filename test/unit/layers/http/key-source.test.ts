import { describe, expect, it } from 'vitest';
import { cachedKeySource, type KnownKey, staticKeySource } from '#http/key-source.ts';

const listing = () => {
  const state = { calls: 0, keys: new Map<string, KnownKey>([['a', { id: 'id-a', enabled: true }]]) };
  const list = async () => {
    state.calls++;
    return new Map(state.keys);
  };
  return { state, list };
};

describe('cachedKeySource', () => {
  it('lists once per TTL for known keys, and concurrent first lookups share one listing', async () => {
    const { state, list } = listing();
    let t = 0;
    const source = cachedKeySource(list, 1000, () => t);

    await Promise.all([source.lookup('a'), source.lookup('a'), source.lookup('a')]);
    t = 999;
    expect(await source.lookup('a')).toEqual({ id: 'id-a', enabled: true });
    expect(state.calls).toBe(1);
    t = 1000;
    await source.lookup('a');
    expect(state.calls).toBe(2);
  });

  it('sees a new key after one early refresh, but unknown keys cannot force a listing per request', async () => {
    const { state, list } = listing();
    let t = 0;
    const source = cachedKeySource(list, 1000, () => t);
    await source.lookup('a');
    state.keys.set('b', { id: 'id-b', enabled: true });

    t = 50;
    expect(await source.lookup('b')).toBeUndefined();
    expect(state.calls).toBe(1);
    t = 150;
    expect(await source.lookup('b')).toEqual({ id: 'id-b', enabled: true });
    expect(await source.lookup('zzz')).toBeUndefined();
    expect(state.calls).toBe(2);
  });

  it('a disabled key is reported disabled, and a failed listing is retried on the next lookup', async () => {
    let fail = true;
    const source = cachedKeySource(async () => {
      if (fail) throw new Error('throttled');
      return new Map([['off', { id: 'id-off', enabled: false }]]);
    }, 1000);

    await expect(source.lookup('off')).rejects.toThrow('throttled');
    fail = false;
    expect(await source.lookup('off')).toEqual({ id: 'id-off', enabled: false });
  });
});

describe('staticKeySource', () => {
  it('knows exactly its keys', async () => {
    const source = staticKeySource(new Map([['k', 'local-1']]));

    expect(await source.lookup('k')).toEqual({ id: 'local-1', enabled: true });
    expect(await source.lookup('K')).toBeUndefined();
  });
});
