import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#runtime/object-store.ts';
import { Registry } from '#runtime/registry.ts';

const FIXTURE = path.resolve('test/fixtures/models/tiny-distilbert-sentiment/1');

describe('Registry after a publish', () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('sees a version published after a lookup that missed it', async () => {
    // Prepare: the version is looked up (and missed) before `models publish` writes it.
    root = await mkdtemp(path.join(os.tmpdir(), 'registry-'));
    const registry = new Registry(new FsObjectStore(root));
    const before = await registry.manifest('tiny-distilbert-sentiment', '1');
    await cp(FIXTURE, path.join(root, 'tiny-distilbert-sentiment', '1'), { recursive: true });

    // Act
    const after = await registry.manifest('tiny-distilbert-sentiment', '1');

    // Assess
    expect(before).toBeUndefined();
    expect(after?.version).toBe('1');
  });
});
