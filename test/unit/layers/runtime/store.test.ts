import { access, mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChecksumMismatchError } from '#runtime/errors.ts';
import { FsObjectStore, type ObjectStore } from '#runtime/object-store.ts';
import { Registry } from '#runtime/registry.ts';
import { COMPLETE_MARKER, ModelStore } from '#runtime/store.ts';
import { makeBundle, tempDir } from '../../../helpers/bundles.ts';

const BIG = Buffer.alloc(256 * 1024, 7);

/** An object store that counts downloads and can fail part-way through one. */
class FlakyStore extends FsObjectStore {
  downloads: string[] = [];
  failAfterBytes?: number;
  override async download(key: string, dest: string, options: Parameters<ObjectStore['download']>[2] = {}) {
    this.downloads.push(key);
    if (this.failAfterBytes !== undefined && key.endsWith('weights.bin')) {
      const limit = this.failAfterBytes;
      this.failAfterBytes = undefined;
      await super.download(key, dest, options);
      // Cut the file as a dropped connection would, then fail.
      const data = await readFile(dest);
      await writeFile(dest, data.subarray(0, limit));
      throw new Error('connection reset');
    }
    return super.download(key, dest, options);
  }
}

const setup = async () => {
  const registryRoot = await tempDir('registry');
  const cacheDir = await tempDir('cache');
  await makeBundle(registryRoot, 'demo', '1', { 'config.json': '{"a":1}', 'onnx/weights.bin': BIG });
  const source = new FlakyStore(registryRoot);
  const registry = new Registry(source);
  return { registryRoot, cacheDir, source, registry, store: new ModelStore({ registry, cacheDir, pollMs: 5 }) };
};

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('ModelStore', () => {
  it('fetches a bundle into the cache, verified and marked complete', async () => {
    const { store, cacheDir } = await setup();

    const bundle = await store.ensure('demo', '1');

    expect(bundle.dir).toBe(path.join(cacheDir, 'demo', '1'));
    expect(await exists(path.join(bundle.dir, COMPLETE_MARKER))).toBe(true);
    expect(await readFile(path.join(bundle.dir, 'onnx/weights.bin'))).toEqual(BIG);
    expect(bundle.manifest.files.map((f) => f.path)).toEqual(['config.json', 'onnx/weights.bin']);
  });

  it('never serves a file whose checksum does not match the manifest', async () => {
    const { store, registryRoot, cacheDir } = await setup();
    const corrupted = Buffer.from(BIG);
    corrupted[1000] = 8; // one changed byte
    await writeFile(path.join(registryRoot, 'demo/1/onnx/weights.bin'), corrupted);

    await expect(store.ensure('demo', '1')).rejects.toBeInstanceOf(ChecksumMismatchError);
    await expect(store.ensure('demo', '1')).rejects.toThrow(/Checksum mismatch .*weights\.bin/);

    expect(await exists(path.join(cacheDir, 'demo', '1'))).toBe(false);
    expect(await store.isCached('demo', '1')).toBe(false);
  });

  it('fetches once when many loads start together in one process', async () => {
    const { store, source } = await setup();

    const bundles = await Promise.all(Array.from({ length: 8 }, () => store.ensure('demo', '1')));

    expect(new Set(bundles.map((b) => b.dir)).size).toBe(1);
    expect(source.downloads.filter((k) => k.endsWith('weights.bin'))).toHaveLength(1);
  });

  it('fetches once when two processes share the cache (lock file)', async () => {
    const { registry, cacheDir, source } = await setup();
    // Two stores = two Lambda containers mounting the same EFS folder.
    const a = new ModelStore({ registry, cacheDir, pollMs: 5 });
    const b = new ModelStore({ registry, cacheDir, pollMs: 5 });

    const [x, y] = await Promise.all([a.ensure('demo', '1'), b.ensure('demo', '1')]);

    expect(x.dir).toBe(y.dir);
    expect(source.downloads.filter((k) => k.endsWith('weights.bin'))).toHaveLength(1);
    expect(a.fetchedFiles + b.fetchedFiles).toBe(2);
  });

  it('keeps a partial download invisible, then resumes it', async () => {
    const { store, source, cacheDir } = await setup();
    source.failAfterBytes = 100_000;

    await expect(store.ensure('demo', '1')).rejects.toThrow('connection reset');
    expect(await exists(path.join(cacheDir, 'demo', '1'))).toBe(false);
    const staged = await readdir(path.join(cacheDir, 'demo'));
    expect(staged).toContain('.staging-1');

    const bundle = await store.ensure('demo', '1');

    expect(await readFile(path.join(bundle.dir, 'onnx/weights.bin'))).toEqual(BIG);
    expect(await readdir(path.join(cacheDir, 'demo'))).toEqual(['1']);
  });

  it('finds a cached file changed after .complete and fetches only that file again', async () => {
    const { store, registry, cacheDir, source } = await setup();
    await store.ensure('demo', '1');
    const weights = path.join(cacheDir, 'demo', '1', 'onnx/weights.bin');
    const changed = Buffer.from(BIG);
    changed[5000] = 9; // same size, one byte
    await writeFile(weights, changed);
    source.downloads.length = 0;
    // Another container on the same cache folder.
    const other = new ModelStore({ registry, cacheDir, pollMs: 5 });

    const found = await other.ensure('demo', '1');
    const before = await other.verify(found);
    const repaired = await other.repair('demo', '1');

    expect(found.fetched).toBe(false);
    expect(before).toEqual(['onnx/weights.bin']);
    expect(repaired.fetched).toBe(true);
    expect(await other.verify(repaired)).toEqual([]);
    expect(await readFile(weights)).toEqual(BIG);
    expect(source.downloads).toEqual(['demo/1/onnx/weights.bin']);
    expect(await readdir(path.join(cacheDir, 'demo'))).toEqual(['1']);
  });

  it('fetches again a complete bundle whose cached manifest is unreadable', async () => {
    const { store, registry, cacheDir } = await setup();
    await store.ensure('demo', '1');
    await writeFile(path.join(cacheDir, 'demo', '1', 'manifest.json'), '{"truncated":');

    const bundle = await new ModelStore({ registry, cacheDir, pollMs: 5 }).ensure('demo', '1');

    expect(bundle.fetched).toBe(true);
    expect(bundle.manifest.files.map((f) => f.path)).toEqual(['config.json', 'onnx/weights.bin']);
    expect(JSON.parse(await readFile(path.join(bundle.dir, 'manifest.json'), 'utf8')).name).toBe('demo');
  });

  it('takes over a lock whose holder died', async () => {
    const { registry, cacheDir } = await setup();
    const lock = path.join(cacheDir, 'demo', '.1.lock');
    await mkdir(path.dirname(lock), { recursive: true });
    await writeFile(lock, '999999 dead');
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    const store = new ModelStore({ registry, cacheDir, pollMs: 5, lockStaleMs: 60_000 });

    const bundle = await store.ensure('demo', '1');

    expect(await exists(path.join(bundle.dir, COMPLETE_MARKER))).toBe(true);
    expect(await exists(lock)).toBe(false);
  });
});
