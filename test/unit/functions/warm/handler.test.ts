import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { loadConfig, setConfig } from '#runtime/config.ts';
import { findOptimizedGraphs } from '#runtime/optimized-graphs.ts';
import { tempDir } from '../../../helpers/bundles.ts';

const context = { awsRequestId: 'warm-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

describe('warm function', () => {
  it('fills an empty cache folder with a verified bundle, resolving aliases', async () => {
    const cache = await tempDir('warm-cache');
    setConfig(loadConfig({ MODEL_CACHE_DIR: cache, LOG_LEVEL: 'SILENT' }));
    const { handler } = await import('#functions/warm/handler.ts');

    const out = (await handler(
      { models: ['tiny-distilbert-sentiment@prod', 'tiny-distilbert-sentiment@2'] },
      context,
    )) as {
      warmed: Array<{ model: string; dir: string; optimizedGraphs: string }>;
    };

    expect(out.warmed.map((w) => w.model)).toEqual(['tiny-distilbert-sentiment@1', 'tiny-distilbert-sentiment@2']);
    for (const w of out.warmed) await expect(access(path.join(w.dir, '.complete'))).resolves.toBeUndefined();
    // And this machine's pre-optimised graphs, ready for the next cold start.
    expect(out.warmed.map((w) => w.optimizedGraphs)).toEqual(['built', 'built']);
    for (const w of out.warmed) expect(await findOptimizedGraphs(w.dir, { cacheDir: cache })).toBeDefined();
  });

  it('rejects an event without models', async () => {
    const { handler } = await import('#functions/warm/handler.ts');

    await expect(handler({ nothing: true }, context)).rejects.toThrow(/model/);
  });
});

describe('warm function as a custom resource', () => {
  it('does nothing when its stack deletes it', async () => {
    const { handler } = await import('#functions/warm/handler.ts');

    const out = await handler({ RequestType: 'Delete', ResourceProperties: { models: ['nope@1'] } }, context);

    expect(out).toEqual({ warmed: [] });
  });
});
