import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '#runtime/manifest.ts';
import { FsObjectStore } from '#runtime/object-store.ts';
import { Registry } from '#runtime/registry.ts';
import { publishToFolder } from '../../../model-packaging/folder-publish.ts';
import { makeBundle, tempDir } from '../../helpers/bundles.ts';

describe('publishToFolder', () => {
  it('publishes a bundle the registry then reads, and refuses to overwrite the version', async () => {
    // Prepare
    const source = await makeBundle(await tempDir('fp-src'), 'm', '1', { 'config.json': '{}', 'onnx/model.onnx': 'x' });
    const root = await tempDir('fp-registry');

    // Act
    const line = await publishToFolder(source, await readManifest(source), root);

    // Assess
    expect(line).toBe(`published m@1 (2 files) to ${path.join(root, 'm', '1')}`);
    expect((await new Registry(new FsObjectStore(root)).manifest('m', '1'))?.files).toHaveLength(2);
    expect(await readFile(path.join(root, 'm/1/onnx/model.onnx'), 'utf8')).toBe('x');
    await expect(publishToFolder(source, await readManifest(source), root)).rejects.toThrow(/already exists/);
    expect(await readdir(path.join(root, 'm'))).toEqual(['1']);
  });

  it('leaves neither the version nor a staging folder when a file cannot be copied', async () => {
    // Prepare: the manifest lists a file that is gone.
    const source = await makeBundle(await tempDir('fp-src'), 'm', '1', { 'config.json': '{}', 'onnx/model.onnx': 'x' });
    const manifest = await readManifest(source);
    await rm(path.join(source, 'onnx/model.onnx'));
    const root = await tempDir('fp-registry');

    // Act / Assess
    await expect(publishToFolder(source, manifest, root)).rejects.toThrow(/ENOENT/);
    expect(await readdir(path.join(root, 'm'))).toEqual([]);
  });
});
