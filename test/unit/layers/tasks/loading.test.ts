import path from 'node:path';
import { AutoTokenizer, env, type PreTrainedModel } from '@huggingface/transformers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Manifest } from '#runtime/manifest.ts';
import type { ModelSource } from '#runtime/onnx.ts';
import { sessionOptions } from '#runtime/session-options.ts';
import { loadClassifier } from '#tasks/classification/index.ts';
import { loadGenerator } from '#tasks/generation/index.ts';
import { type LoadBundleOptions, loadBundle, type PretrainedModelClass } from '#tasks/loading.ts';
import { loadTranslator } from '#tasks/translation/index.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../../fixtures/models');
const GPT2 = path.join(FIXTURES, 'tiny-gpt2/1');
const LOAD_TIMEOUT_MS = 30_000;

type CachedBundle = Exclude<ModelSource, string>;

/** A model class that records how it was asked to load, and loads nothing. */
const fakeModelClass = () => {
  const calls: Array<[string, Record<string, unknown>]> = [];
  const modelClass = {
    from_pretrained: async (dir: string, options: Record<string, unknown> = {}) => {
      calls.push([dir, options]);
      return { dispose: async () => {} } as unknown as PreTrainedModel;
    },
  } as PretrainedModelClass;
  return { modelClass, calls };
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('loadBundle', () => {
  it('opens a folder with local files only, on the CPU, at the dtype and threads asked for', async () => {
    // Prepare
    const { modelClass, calls } = fakeModelClass();
    const tokenizerSpy = vi.spyOn(AutoTokenizer, 'from_pretrained');
    env.allowRemoteModels = true; // loadBundle must turn downloads off itself

    // Act
    const loaded = await loadBundle(GPT2, modelClass, { dtype: 'q8', threads: 1 });

    // Assess
    expect(loaded.dir).toBe(GPT2);
    expect(calls).toEqual([
      [GPT2, { dtype: 'q8', device: 'cpu', local_files_only: true, session_options: sessionOptions(1) }],
    ]);
    expect(tokenizerSpy).toHaveBeenCalledWith(GPT2, { local_files_only: true });
    expect(env.allowRemoteModels).toBe(false);
    expect(loaded.tokenizer.encode('Hello').length).toBeGreaterThan(0);
  });

  it("opens a cached bundle's optimised copy with graph optimisation disabled", async () => {
    // Prepare
    const { modelClass, calls } = fakeModelClass();
    const optimizedDir = GPT2; // any folder with a tokenizer: only the path handed on matters
    const bundle: CachedBundle = {
      dir: '/nowhere/tiny-gpt2/1',
      manifest: { dtype: 'q8' } as Manifest,
      optimized: { dir: optimizedDir } as CachedBundle['optimized'],
    };

    // Act
    const loaded = await loadBundle(bundle, modelClass, { threads: 2 });

    // Assess
    expect(loaded.dir).toBe(optimizedDir);
    expect(calls[0]?.[1]).toEqual({
      dtype: 'q8',
      device: 'cpu',
      local_files_only: true,
      session_options: sessionOptions(2, 'disabled'),
    });
  });
});

describe('every transformers.js loader goes through loadBundle', () => {
  const loaders: Array<
    [string, string, (dir: string, options: LoadBundleOptions) => Promise<{ dispose(): Promise<void> }>]
  > = [
    ['loadClassifier', 'tiny-distilbert-sentiment/1', loadClassifier],
    ['loadTranslator', 'tiny-nllb/1', loadTranslator],
    ['loadGenerator', 'tiny-gpt2/1', loadGenerator],
  ];

  it.each(loaders)(
    '%s reads the tokenizer with local files only and takes threads',
    async (_name, bundle, load) => {
      // Prepare
      const dir = path.join(FIXTURES, bundle);
      const tokenizerSpy = vi.spyOn(AutoTokenizer, 'from_pretrained');

      // Act
      const model = await load(dir, { dtype: 'fp32', threads: 1 });
      await model.dispose();

      // Assess
      expect(tokenizerSpy).toHaveBeenCalledWith(dir, { local_files_only: true });
    },
    LOAD_TIMEOUT_MS,
  );
});
