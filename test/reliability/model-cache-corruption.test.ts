import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { sha256File } from '#runtime/manifest.ts';
import { FsObjectStore } from '#runtime/object-store.ts';
import { Registry } from '#runtime/registry.ts';
import { COMPLETE_MARKER, type LocalBundle, ModelStore } from '#runtime/store.ts';
import { tempDir } from '../helpers/bundles.ts';
import { expectGolden, type GoldenCase, goldenOf } from '../helpers/golden.ts';
import { post, startTestApi } from '../helpers/local-api.ts';

const FIXTURES = path.resolve('test/fixtures/models');
const MODEL = 'tiny-distilbert-sentiment';
const GRAPH = 'onnx/model.onnx';
/** Bytes flipped in the middle of the cached graph: far more than any float's tolerance. */
const FLIPPED = 4096;

let api: LocalStack;
let cached: LocalBundle;
let mtimes: Map<string, number>;
let golden: GoldenCase[];
beforeAll(async () => {
  // Prepare: the bundle is fetched into the cache folder and marked complete (as `warm`
  // does), then one file is changed in place: same size, other bytes.
  const cacheDir = await tempDir('corrupt-cache');
  cached = await new ModelStore({ registry: new Registry(new FsObjectStore(FIXTURES)), cacheDir }).ensure(MODEL, '1');
  const graph = path.join(cached.dir, GRAPH);
  const bytes = await readFile(graph);
  const at = Math.floor(bytes.length / 2);
  for (let i = at; i < at + FLIPPED; i++) bytes[i] = bytes[i]! ^ 0xff;
  await writeFile(graph, bytes);
  mtimes = new Map(
    await Promise.all(
      cached.manifest.files.map(async (f) => [f.path, (await stat(path.join(cached.dir, f.path))).mtimeMs] as const),
    ),
  );
  golden = await goldenOf('1');
  api = await startTestApi({ MODEL_CACHE_DIR: cacheDir });
});
afterAll(async () => api?.close());

describe('a cached file changed after the bundle was marked complete', () => {
  it('is found on the cold load, fetched again, and the request is answered from the repaired copy', async () => {
    // Act
    const answers = [];
    for (const c of golden) answers.push(await post(api, '/v1/predict', { text: c.text, model: `${MODEL}@1` }));

    // Assess: golden answers, so the flipped bytes were never served.
    answers.forEach((res, i) => {
      const c = golden[i]!;
      expect(res.status).toBe(200);
      expectGolden(res.body, c);
    });
    // The cache holds the registry's bytes again (only the registry has them), complete,
    // with no staging left behind; the files that had not changed were kept, not fetched.
    for (const f of cached.manifest.files) {
      expect(await sha256File(path.join(cached.dir, f.path))).toBe(f.sha256);
      if (f.path !== GRAPH) expect((await stat(path.join(cached.dir, f.path))).mtimeMs).toBe(mtimes.get(f.path));
    }
    expect(await readdir(cached.dir)).toContain(COMPLETE_MARKER);
    expect(await readdir(path.dirname(cached.dir))).toEqual(['1']);
  });
});
