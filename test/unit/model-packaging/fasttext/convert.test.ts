import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildHuffmanPaths, convertFasttext, readFasttext, runConvertFasttext } from '#packaging/fasttext/index.ts';
import { readManifest, sha256File } from '#runtime/manifest.ts';
import { BUNDLE, FTZ } from '../../../helpers/langid-reference.ts';

const CONVERT_TIMEOUT_MS = 30_000;

describe('fastText reader', () => {
  it('reads lid.176.ftz: args, dictionary, pruned buckets and the dequantized input matrix', async () => {
    // Act
    const model = readFasttext(await readFile(FTZ));
    // Assess
    expect(model.args).toMatchObject({ dim: 16, loss: 1, model: 3, bucket: 2000000, minn: 2, maxn: 4, wordNgrams: 1 });
    expect(model.dict.nlabels).toBe(176);
    expect(model.dict.entries[0]?.word).toBe('</s>');
    expect(model.dict.entries[model.dict.nwords]?.word).toBe('__label__en');
    expect(model.input.quantized).toBe(true);
    expect(model.input.rows).toBe(model.dict.nwords + model.dict.pruneidxSize);
    expect(model.output.rows).toBe(176);
    expect(model.input.data.some((v) => !Number.isFinite(v))).toBe(false);
  });

  it('rejects a file that is not a fastText model with a clear message', () => {
    // Act + Assess
    expect(() => readFasttext(Buffer.from('not a model at all'))).toThrow(/not a fastText model/);
    expect(() => readFasttext(Buffer.from([0xba, 0x16, 0x4f, 0x2f, 12, 0, 0, 0]))).toThrow(/truncated/);
  });
});

describe('Huffman tree', () => {
  it('rebuilds fastText buildTree: the frequent label gets the short path', () => {
    // Act
    const { internal, paths } = buildHuffmanPaths([5n, 3n, 1n]);
    // Assess
    expect(internal).toBe(2);
    expect(paths).toEqual([
      [{ row: 1, right: true }],
      [
        { row: 0, right: true },
        { row: 1, right: false },
      ],
      [
        { row: 0, right: false },
        { row: 1, right: false },
      ],
    ]);
  });
});

describe('convertFasttext', () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'lid176-'));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it(
    'regenerates the committed fixture bundle byte for byte (deterministic)',
    async () => {
      // Prepare
      const committed = await readManifest(BUNDLE);
      // Act
      const manifest = await convertFasttext(FTZ, path.join(out, 'lid176/1'), { name: 'lid176', version: '1' });
      // Assess
      expect(manifest.files).toEqual(committed.files);
      for (const f of committed.files) expect(await sha256File(path.join(BUNDLE, f.path))).toBe(f.sha256);
      expect(manifest).toMatchObject({
        task: 'language-identification',
        source: { type: 'converted', from: 'lid.176.ftz', format: 'fasttext' },
      });
      expect(manifest.labels).toHaveLength(176);
    },
    CONVERT_TIMEOUT_MS,
  );

  it('CLI: --help exits 0, bad input exits non-zero with one line and no stack trace', async () => {
    // Prepare
    const errors: string[] = [];
    const logs: string[] = [];
    const err = vi.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
    const log = vi.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
    // Act
    const help = await runConvertFasttext(['--help']);
    const missing = await runConvertFasttext(['/nonexistent/lid.ftz', path.join(out, 'x')]);
    const notModel = await runConvertFasttext([path.join(BUNDLE, 'manifest.json'), path.join(out, 'y')]);
    const noArgs = await runConvertFasttext([]);
    const badName = await runConvertFasttext([FTZ, path.join(out, 'z'), '--name', 'Bad Name']);
    err.mockRestore();
    log.mockRestore();
    // Assess
    expect([help, missing, notModel, noArgs, badName]).toEqual([0, 1, 1, 2, 2]);
    expect(logs[0]).toMatch(/^Usage: models convert-fasttext/);
    expect(errors[0]).toBe('convert-fasttext: no such file: /nonexistent/lid.ftz');
    expect(errors[1]).toMatch(/is not a readable fastText model: not a fastText model/);
    expect(errors[2]).toMatch(/expected exactly two arguments/);
    expect(errors[3]).toMatch(/--name "Bad Name" is not valid/);
    expect(errors.join('\n')).not.toMatch(/\n\s+at /);
  });
});
