import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelUnavailableError } from '#runtime/errors.ts';
import { LastKnownGoodStore } from '#runtime/last-known-good.ts';
import { FsObjectStore } from '#runtime/object-store.ts';
import { makeBundle, tempDir } from '../../../helpers/bundles.ts';

/** A registry folder that can be made unreachable, as S3 during an outage. */
class OutageStore extends FsObjectStore {
  down = false;
  override async getText(key: string) {
    if (this.down) throw new Error('connect ECONNREFUSED');
    return super.getText(key);
  }
  override async listPrefixes(prefix: string) {
    if (this.down) throw new Error('connect ECONNREFUSED');
    return super.listPrefixes(prefix);
  }
}

const setup = async () => {
  const root = await tempDir('lkg-registry');
  await makeBundle(root, 'demo', '1', { 'config.json': '{}' });
  const copies = await tempDir('lkg-copies');
  const registry = new OutageStore(root);
  return { root, copies, registry, store: new LastKnownGoodStore(registry, copies) };
};

describe('LastKnownGoodStore', () => {
  it('answers from the last copy while the registry is down, in this process and a new one', async () => {
    const { copies, registry, store } = await setup();
    const manifest = await store.getText('demo/1/manifest.json');
    expect(await store.listPrefixes('')).toEqual(['demo']);
    expect(await store.getText('demo/aliases.json')).toBeUndefined();
    registry.down = true;
    const stale: string[] = [];
    const other = new LastKnownGoodStore(registry, copies, ({ key }) => void stale.push(key));

    for (const s of [store, other]) {
      expect(await s.getText('demo/1/manifest.json')).toBe(manifest);
      expect(await s.listPrefixes('')).toEqual(['demo']);
      // "Not found" was an answer too: still no aliases, rather than an error.
      expect(await s.getText('demo/aliases.json')).toBeUndefined();
    }
    expect(stale).toEqual(['demo/1/manifest.json', '*', 'demo/aliases.json']);
  });

  it('follows the registry again as soon as it answers', async () => {
    const { root, registry, store } = await setup();
    expect(await store.listPrefixes('demo/')).toEqual(['1']);
    registry.down = true;
    expect(await store.listPrefixes('demo/')).toEqual(['1']);
    await makeBundle(root, 'demo', '2', { 'config.json': '{}' });
    registry.down = false;

    expect(await store.listPrefixes('demo/')).toEqual(['1', '2']);
    registry.down = true;
    expect(await store.listPrefixes('demo/')).toEqual(['1', '2']);
  });

  it('leaves an unchanged saved copy as it is in a new process, and saves a changed answer', async () => {
    // Prepare: one process saved the listing; the inode says whether a later one rewrote it.
    const { root, copies, registry, store } = await setup();
    expect(await store.listPrefixes('demo/')).toEqual(['1']);
    const saved = path.join(copies, 'listings', 'demo', '_prefixes.json');
    const first = await stat(saved, { bigint: true });

    // Act: a new process reads the same answer, then (the registry changed) another one.
    const other = new LastKnownGoodStore(registry, copies);
    expect(await other.listPrefixes('demo/')).toEqual(['1']);
    const unchanged = await stat(saved, { bigint: true });
    await makeBundle(root, 'demo', '2', { 'config.json': '{}' });
    expect(await other.listPrefixes('demo/')).toEqual(['1', '2']);

    // Assess
    expect([unchanged.ino, unchanged.mtimeNs]).toEqual([first.ino, first.mtimeNs]);
    expect(JSON.parse(await readFile(saved, 'utf8'))).toEqual({ prefixes: ['1', '2'] });
  });

  it('is a 503 with Retry-After when nothing was saved before the registry went down', async () => {
    const { registry, store } = await setup();
    registry.down = true;

    const error = await store.getText('demo/aliases.json').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect(error).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } });
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});
