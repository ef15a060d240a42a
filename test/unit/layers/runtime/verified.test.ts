import { createHash } from 'node:crypto';
import { chmod, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { changedFiles, recordVerified, VERIFIED_FILE } from '#runtime/verified.ts';
import { tempDir } from '../../../helpers/bundles.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A folder with one file and its manifest entry. */
const folder = async (content = 'weights v1') => {
  const dir = await tempDir('verified');
  await writeFile(path.join(dir, 'model.onnx'), content);
  return { dir, file: { path: 'model.onnx', sha256: sha(content), bytes: Buffer.byteLength(content) } };
};

describe('changedFiles with verified stamps', () => {
  it('hashes a file once, then trusts its unchanged inode without reading it', async () => {
    // Prepare: a stamp that vouches for a sha256 the bytes do not have. Only a check that
    // skips the hash can answer "intact" for it.
    const { dir } = await folder();
    const claimed = { path: 'model.onnx', sha256: sha('other bytes'), bytes: 'weights v1'.length };
    await recordVerified(dir, [claimed]);

    // Act
    const changed = await changedFiles(dir, [claimed]);

    // Assess
    expect(changed).toEqual([]);
  });

  it('stamps a file it hashed intact, and finds it changed after a same-size write', async () => {
    // Prepare
    const { dir, file } = await folder();
    expect(await changedFiles(dir, [file])).toEqual([]);
    const stamps = JSON.parse(await readFile(path.join(dir, VERIFIED_FILE), 'utf8'));
    expect(stamps.files['model.onnx']).toMatchObject({ sha256: file.sha256, bytes: file.bytes });
    const before = await stat(path.join(dir, 'model.onnx'));

    // Act: other bytes, same size, mtime put back as it was (ctime cannot be).
    await writeFile(path.join(dir, 'model.onnx'), 'weights v2');
    await utimes(path.join(dir, 'model.onnx'), before.atime, before.mtime);

    // Assess
    expect(await changedFiles(dir, [file])).toEqual(['model.onnx']);
  });

  it('hashes again after a chmod (a new ctime), and reports a missing file', async () => {
    // Prepare: a stamp for another sha256, so only a fresh hash says "changed".
    const { dir } = await folder();
    const claimed = { path: 'model.onnx', sha256: sha('other bytes'), bytes: 'weights v1'.length };
    await recordVerified(dir, [claimed]);

    // Act
    await chmod(path.join(dir, 'model.onnx'), 0o600);

    // Assess
    expect(await changedFiles(dir, [claimed])).toEqual(['model.onnx']);
    expect(await changedFiles(dir, [{ path: 'gone.bin', sha256: sha(''), bytes: 0 }])).toEqual(['gone.bin']);
  });

  it('treats an unreadable stamp file as no stamps', async () => {
    // Prepare
    const { dir, file } = await folder();
    await writeFile(path.join(dir, VERIFIED_FILE), '{not json');

    // Act
    const changed = await changedFiles(dir, [file]);

    // Assess: hashed (intact), and the stamp file rewritten whole.
    expect(changed).toEqual([]);
    expect(JSON.parse(await readFile(path.join(dir, VERIFIED_FILE), 'utf8')).version).toBe(1);
  });
});
