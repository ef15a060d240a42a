import { describe, expect, it } from 'vitest';
import { DeferredObjectStore, FsObjectStore, type ObjectStore, s3Description } from '#runtime/object-store.ts';
import { makeBundle, tempDir } from '../../../helpers/bundles.ts';

describe('DeferredObjectStore', () => {
  it('makes its store once, on the first call, for calls made at the same time', async () => {
    // Prepare
    const root = await tempDir('deferred-registry');
    await makeBundle(root, 'demo', '1', { 'config.json': '{}' });
    let made = 0;
    const store = new DeferredObjectStore('s3://models', async () => {
      made += 1;
      return new FsObjectStore(root);
    });
    expect(made).toBe(0);

    // Act
    const [listing, manifest] = await Promise.all([store.listPrefixes(''), store.getText('demo/1/manifest.json')]);

    // Assess
    expect(made).toBe(1);
    expect(listing).toEqual(['demo']);
    expect(JSON.parse(manifest ?? '{}')).toMatchObject({ name: 'demo', version: '1' });
    expect(store.description).toBe('s3://models');
  });

  it('tries to make its store again after a failure, which the failed call reports', async () => {
    const root = await tempDir('deferred-retry');
    let attempts = 0;
    const store = new DeferredObjectStore('s3://models', async (): Promise<ObjectStore> => {
      attempts += 1;
      if (attempts === 1) throw new Error('Cannot find module');
      return new FsObjectStore(root);
    });

    await expect(store.listPrefixes('')).rejects.toThrow('Cannot find module');
    expect(await store.listPrefixes('')).toEqual([]);
    expect(attempts).toBe(2);
  });
});

describe('s3Description', () => {
  it('names the bucket and the prefix without its slashes', () => {
    expect(s3Description('models')).toBe('s3://models');
    expect(s3Description('models', '/registry/')).toBe('s3://models/registry');
  });
});
