import '#local/lambda-shim.ts';
import { describe, expect, it } from 'vitest';
import { loadConfig, setConfig } from '#runtime/config.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { tempDir } from '../helpers/bundles.ts';

const INIT_TIMEOUT_MS = 120_000;

describe('provisioned concurrency init', () => {
  it(
    'loads each capability’s default model when its handler module is imported, before any request',
    async () => {
      // Prepare: the environment Lambda gives a provisioned-concurrency init.
      const config = loadConfig({
        AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency',
        MODEL_CACHE_DIR: await tempDir('provisioned-cache'),
        LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      });
      setConfig(config);
      expect(modelRuntime().loaded()).toEqual([]);

      // Act: the init phase of each function (module import), no invocation.
      for (const fn of ['detect', 'predict', 'translate', 'completions']) await import(`#functions/${fn}/handler.ts`);

      // Assess: every default model is in memory, each loaded once.
      const loaded = modelRuntime().loaded();
      for (const name of [
        config.DEFAULT_DETECT_MODEL,
        config.DEFAULT_PREDICT_MODEL,
        config.DEFAULT_TRANSLATE_MODEL,
        config.DEFAULT_COMPLETIONS_MODEL,
      ]) {
        expect(loaded.map((e) => e.key)).toContainEqual(expect.stringMatching(new RegExp(`^${name}@`)));
      }
      expect(loaded.map((e) => e.task).sort()).toEqual(
        ['language-identification', 'text-classification', 'text-generation', 'translation'].sort(),
      );
    },
    INIT_TIMEOUT_MS,
  );
});
