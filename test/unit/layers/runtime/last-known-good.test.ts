import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelUnavailableError } from '#runtime/errors.ts';
import { LastKnownGoodStore } from '#runtime/last-known-good.ts';
import { FsObjectStore } from '#runtime/object-store.ts';
import { ageFiles, makeBundle, tempDir } from '../../../helpers/bundles.ts';

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
    const other = new LastKnownGoodStore(registry, copies, { onStale: ({ key }) => void stale.push(key) });

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

  describe('with freshMs (a cold start takes a recent copy instead of asking S3)', () => {
    /** The registry as a store that counts its reads, and a new process's store over the same copies. */
    const counted = async () => {
      const base = await setup();
      await writeFile(path.join(base.root, 'demo', 'aliases.json'), JSON.stringify({ prod: { version: '1' } }));
      const reads: string[] = [];
      const counting = {
        description: base.registry.description,
        getText: (key: string) => {
          reads.push(key);
          return base.registry.getText(key);
        },
        listPrefixes: (prefix: string) => {
          reads.push(`${prefix}*`);
          return base.registry.listPrefixes(prefix);
        },
        download: base.registry.download.bind(base.registry),
      };
      const fresh = (now = Date.now) =>
        new LastKnownGoodStore(counting, base.copies, {
          freshMs: 15_000,
          immutable: (key) => key.endsWith('/manifest.json'),
          now,
        });
      return { ...base, reads, fresh };
    };
    it('answers from a copy another process confirmed less than freshMs ago, without a registry read', async () => {
      // Prepare: one process read the aliases, the listing and the manifest.
      const { fresh, reads } = await counted();
      const first = fresh();
      const aliases = await first.getText('demo/aliases.json');
      expect(await first.listPrefixes('demo/')).toEqual(['1']);
      const manifest = await first.getText('demo/1/manifest.json');
      reads.length = 0;

      // Act: a new process reads the same three.
      const cold = fresh();
      const answers = [
        await cold.getText('demo/aliases.json'),
        await cold.listPrefixes('demo/'),
        await cold.getText('demo/1/manifest.json'),
      ];

      // Assess
      expect(answers).toEqual([aliases, ['1'], manifest]);
      expect(reads).toEqual([]);
    });

    it('asks the registry when the copy is older than freshMs, and confirms an unchanged answer', async () => {
      const { copies, fresh, reads } = await counted();
      await fresh().getText('demo/aliases.json');
      await ageFiles(copies, 20_000);
      const saved = path.join(copies, 'objects', 'demo', 'aliases.json');
      const before = await stat(saved, { bigint: true });
      reads.length = 0;

      await fresh().getText('demo/aliases.json');

      // Read again, not rewritten (same inode), fresh again for the next process (mtime now).
      expect(reads).toEqual(['demo/aliases.json']);
      const after = await stat(saved, { bigint: true });
      expect(after.ino).toBe(before.ino);
      expect(Number(after.mtimeMs)).toBeGreaterThan(Date.now() - 5_000);
      reads.length = 0;
      await fresh().getText('demo/aliases.json');
      expect(reads).toEqual([]);
    });

    it('follows an alias switch once the copy is older than freshMs', async () => {
      const { root, copies, fresh } = await counted();
      expect(await fresh().getText('demo/aliases.json')).toContain('"1"');
      await writeFile(path.join(root, 'demo', 'aliases.json'), JSON.stringify({ prod: { version: '2' } }));

      expect(await fresh().getText('demo/aliases.json')).toContain('"1"');
      await ageFiles(copies, 15_000);
      expect(await fresh().getText('demo/aliases.json')).toContain('"2"');
    });

    it('always asks about what the copy says is missing, and trusts a found manifest however old', async () => {
      const { copies, fresh, reads } = await counted();
      const first = fresh();
      expect(await first.getText('demo/2/manifest.json')).toBeUndefined();
      expect(await first.listPrefixes('other/')).toEqual([]);
      await first.getText('demo/1/manifest.json');
      await ageFiles(copies, 3_600_000);
      reads.length = 0;

      const cold = fresh();
      await cold.getText('demo/2/manifest.json');
      await cold.listPrefixes('other/');
      await cold.getText('demo/1/manifest.json');

      expect(reads).toEqual(['demo/2/manifest.json', 'other/*']);
    });
  });
});
