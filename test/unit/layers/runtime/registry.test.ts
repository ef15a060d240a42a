import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UnknownModelError } from '#runtime/errors.ts';
import { FsObjectStore } from '#runtime/object-store.ts';
import { compareVersions, parseModelRef, Registry } from '#runtime/registry.ts';
import { makeBundle, tempDir } from '../../../helpers/bundles.ts';

/** How long a test waits for a read the registry should have started by itself. */
const READ_STARTED_TIMEOUT_MS = 2_000;

const registryRoot = async () => {
  const root = await tempDir('reg');
  for (const v of ['1', '2', '10']) await makeBundle(root, 'sent', v, { 'config.json': `{"v":${v}}` });
  await writeFile(
    path.join(root, 'sent', 'aliases.json'),
    JSON.stringify({ prod: { version: '1' }, canary: { version: '1', canary: { version: '2', weight: 0.3 } } }),
  );
  return root;
};
const setup = async () => new Registry(new FsObjectStore(await registryRoot()));

/** A registry whose listings wait for `release()` (a slow S3 list), recording the objects read meanwhile. */
class HeldListingStore extends FsObjectStore {
  readonly reads: string[] = [];
  release: () => void = () => undefined;
  private readonly held = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  override async getText(key: string) {
    this.reads.push(key);
    return super.getText(key);
  }
  override async listPrefixes(prefix: string) {
    await this.held;
    return super.listPrefixes(prefix);
  }
}

describe('Registry', () => {
  it('resolves a bare name to its prod alias, and name@version and name@alias', async () => {
    const registry = await setup();

    expect(await registry.resolve('sent')).toEqual({ name: 'sent', version: '1', alias: 'prod', canary: false });
    expect(await registry.resolve('sent@10')).toEqual({ name: 'sent', version: '10', canary: false });
    expect((await registry.resolve('sent@canary', () => 0.9)).version).toBe('1');
  });

  it('sends the canary share of an alias to the canary version', async () => {
    const registry = await setup();

    const below = await registry.resolve('sent@canary', () => 0.29);
    const above = await registry.resolve('sent@canary', () => 0.3);

    expect(below).toEqual({ name: 'sent', version: '2', alias: 'canary', canary: true });
    expect(above.canary).toBe(false);
  });

  it('lists what exists when a name, version or alias is unknown', async () => {
    const registry = await setup();

    await expect(registry.resolve('nope')).rejects.toThrow(/Unknown model "nope". Available models: \["sent"\]/);
    await expect(registry.resolve('sent@beta')).rejects.toThrow(
      /Versions: \["1", "2", "10"\]; aliases: \["prod", "canary"\]/,
    );
    await expect(registry.resolve('Bad Name')).rejects.toBeInstanceOf(UnknownModelError);
  });

  it('treats an alias named like an Object.prototype member as unknown', async () => {
    const registry = await setup();

    for (const selector of ['constructor', 'toString', 'valueOf', 'hasOwnProperty'])
      await expect(registry.resolve(`sent@${selector}`)).rejects.toThrow(`no version or alias "${selector}"`);
  });

  it('reads the aliases, then the manifests they name, without waiting for the listing', async () => {
    // Prepare
    const store = new HeldListingStore(await registryRoot());
    const registry = new Registry(store);

    // Act: the listing is held until both manifests of the canary alias were asked for.
    const resolving = registry.resolve('sent@canary', () => 0.9);
    await vi.waitFor(() => expect(store.reads).toHaveLength(3), { timeout: READ_STARTED_TIMEOUT_MS });
    store.release();

    // Assess: resolved as before, and the manifest it names already read once, not again.
    expect(await resolving).toEqual({ name: 'sent', version: '1', alias: 'canary', canary: false });
    expect(store.reads).toEqual(['sent/aliases.json', 'sent/1/manifest.json', 'sent/2/manifest.json']);
    expect((await registry.manifest('sent', '1'))?.version).toBe('1');
    expect(store.reads).toHaveLength(3);
  });

  it('reads a version the caller named only once the listing has it', async () => {
    // Prepare
    const store = new HeldListingStore(await registryRoot());
    const registry = new Registry(store);

    // Act
    const resolving = registry.resolve('sent@7');
    await vi.waitFor(() => expect(store.reads).toEqual(['sent/aliases.json']), { timeout: READ_STARTED_TIMEOUT_MS });
    store.release();

    // Assess: an unknown version, and no read of a manifest it would name.
    await expect(resolving).rejects.toThrow('no version or alias "7"');
    expect(store.reads).toEqual(['sent/aliases.json']);
  });

  it('starts no manifest read on a resolve whose aliases are still fresh', async () => {
    // Prepare: an alias naming a version not published yet (no manifest, so none cached).
    const root = await registryRoot();
    await writeFile(path.join(root, 'sent', 'aliases.json'), JSON.stringify({ beta: { version: '9' } }));
    const store = new HeldListingStore(root);
    store.release();
    const registry = new Registry(store);

    // Act: the second resolve comes once the first one's manifest read has answered "none".
    await registry.resolve('sent@beta');
    expect(await registry.manifest('sent', '9')).toBeUndefined();
    await registry.resolve('sent@beta');

    // Assess: read once by the first (cold) resolve, not again by the warm one.
    expect(store.reads).toEqual(['sent/aliases.json', 'sent/9/manifest.json']);
  });

  it('orders versions numerically and parses references', () => {
    expect(['10', '2', '1'].sort(compareVersions)).toEqual(['1', '2', '10']);
    expect(parseModelRef('a@b')).toEqual({ name: 'a', selector: 'b' });
  });

  it('lists models with task, versions and aliases', async () => {
    const registry = await setup();

    const [summary] = await registry.list('text-classification');

    expect(summary).toMatchObject({
      name: 'sent',
      task: 'text-classification',
      versions: ['1', '2', '10'],
      defaultVersion: '1',
    });
    expect(await registry.list('translation')).toEqual([]);
  });
});
