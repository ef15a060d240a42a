import { describe, expect, it } from 'vitest';
import type { Manifest } from '#runtime/manifest.ts';
import { hubChanges } from '../../../../model-packaging/commands/outdated.ts';

const sha = (c: string) => c.repeat(64);
const manifest = {
  task: 'text-classification',
  dtype: 'fp32',
  files: [
    { path: 'config.json', sha256: sha('1'), bytes: 1 },
    { path: 'onnx/model.onnx', sha256: sha('2'), bytes: 1 },
    { path: 'tokenizer.json', sha256: sha('3'), bytes: 1 },
    { path: 'tokenizer_config.json', sha256: sha('4'), bytes: 1 },
    { path: 'golden.json', sha256: sha('5'), bytes: 1 },
  ],
} as unknown as Manifest;

describe('hubChanges', () => {
  it('finds no change when the files and LFS sha256 are the same', () => {
    const files = manifest.files.map((f) => f.path).filter((f) => f !== 'golden.json');

    expect(hubChanges(manifest, { sha: 'x', files, lfs: { 'onnx/model.onnx': sha('2') } })).toEqual({
      changed: [],
      removed: [],
      added: [],
    });
  });

  it('reports new weights, files gone and files the task now takes; ignores files it would not take', () => {
    const out = hubChanges(manifest, {
      sha: 'x',
      files: ['config.json', 'onnx/model.onnx', 'tokenizer.json', 'special_tokens_map.json', 'README.md'],
      lfs: { 'onnx/model.onnx': sha('9'), 'tokenizer.json': sha('3') },
    });

    expect(out).toEqual({
      changed: ['onnx/model.onnx'],
      removed: ['tokenizer_config.json'],
      added: ['special_tokens_map.json'],
    });
  });
});
