import { readFileSync } from 'node:fs';
import { access, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelRegistry } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Loader, ModelRuntime } from '#runtime/models.ts';
import { FsObjectStore } from '#runtime/object-store.ts';
import { configureTransformers, modelSource } from '#runtime/onnx.ts';
import {
  buildOptimizedGraphs,
  environmentKey,
  findOptimizedGraphs,
  type GraphEnvironment,
  graphEnvironment,
  isRejected,
  loaderGraphs,
  OPTIMIZED_DIR,
  OPTIMIZED_META,
  type OptimizedCopy,
  OptimizedGraphs,
  verifyOptimizedGraphs,
} from '#runtime/optimized-graphs.ts';
import { Registry } from '#runtime/registry.ts';
import { type LocalBundle, ModelStore } from '#runtime/store.ts';
import { VERIFIED_FILE } from '#runtime/verified.ts';
import { type Classifier, loadClassifier } from '#tasks/classification/index.ts';
import { type Generator, loadGenerator } from '#tasks/generation/index.ts';
import { loadTranslator } from '#tasks/translation/index.ts';
import { tempDir } from '../../../helpers/bundles.ts';
import { expectGolden, goldenOf } from '../../../helpers/golden.ts';

const FIXTURES = path.resolve('test/fixtures/models');
const SENTIMENT = 'tiny-distilbert-sentiment';
const GRAPH = 'onnx/model.onnx';
/** golden.json: fp32 logits to 1e-4. */
const LOGIT_TOLERANCE = 1e-4;
/** Bytes flipped in the middle of an optimised graph: same size, other weights. */
const FLIPPED = 4096;

const fixtureJson = <T>(name: string): T =>
  JSON.parse(readFileSync(path.join(FIXTURES, name, '1/golden.json'), 'utf8'));

/** A fresh cache folder filled from the fixture registry, and the warnings of its graph cache. */
const freshCache = async () => {
  const cacheDir = await tempDir('optgraph');
  const registry = new Registry(new FsObjectStore(FIXTURES));
  const store = new ModelStore({ registry, cacheDir });
  const warnings: Array<{ message: string; details: Record<string, unknown> }> = [];
  const options = {
    cacheDir,
    onWarning: (message: string, details: Record<string, unknown>) => warnings.push({ message, details }),
  };
  return { cacheDir, registry, store, warnings, options };
};
type Cache = Awaited<ReturnType<typeof freshCache>>;

/** A cold instance: a new runtime (empty memory cache) on the cache folder, recording how each load went. */
const coldRuntime = (cache: Cache) => {
  const graphs = new OptimizedGraphs(cache.options);
  const loads: boolean[] = [];
  const runtime = new ModelRuntime({
    registry: cache.registry,
    store: cache.store,
    maxEntries: 4,
    dispose: async (v) => (v as { dispose(): Promise<void> }).dispose(),
    onLoaded: ({ optimizedGraphs }) => loads.push(optimizedGraphs),
    graphs,
  });
  return { runtime, graphs, loads };
};

const classifierLoader: Loader<Classifier> = (b) => loadClassifier(b);

const classifyGolden = async (classifier: Classifier) => {
  const golden = await goldenOf('1');
  const answers = await classifier.classify(golden.map((c) => c.text));
  for (const [i, answer] of answers.entries()) expectGolden(answer, golden[i]!);
};

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('building and finding optimised graphs', () => {
  let cache: Cache;
  let bundle: LocalBundle;
  let built: Awaited<ReturnType<typeof buildOptimizedGraphs>>;
  beforeAll(async () => {
    cache = await freshCache();
    bundle = await cache.store.ensure(SENTIMENT, '1');
    built = await buildOptimizedGraphs(bundle, cache.options);
  });

  it('makes the copy once, under .optimized/<name>/<version>/<key>/, and finds it again', async () => {
    // Assess (the build ran in beforeAll)
    const key = environmentKey(await graphEnvironment());
    const dir = path.join(cache.cacheDir, OPTIMIZED_DIR, SENTIMENT, '1', key);
    expect(built).toMatchObject({ status: 'built', copy: { dir, key } });
    const graphMtime = (await stat(path.join(dir, GRAPH))).mtimeMs;

    // Act
    const again = await buildOptimizedGraphs(bundle, cache.options);
    const found = await findOptimizedGraphs(bundle.dir, cache.options);

    // Assess: found, not rebuilt; a bundle folder with the bundle's files beside the graph.
    expect(again.status).toBe('found');
    expect(found?.dir).toBe(dir);
    expect((await stat(path.join(dir, GRAPH))).mtimeMs).toBe(graphMtime);
    for (const f of bundle.manifest.files.filter((f) => f.path !== GRAPH)) {
      expect(await readFile(path.join(dir, f.path))).toEqual(await readFile(path.join(bundle.dir, f.path)));
    }
    const meta = JSON.parse(await readFile(path.join(dir, OPTIMIZED_META), 'utf8'));
    expect(meta.graphs).toEqual([expect.objectContaining({ path: GRAPH, samples: 1 })]);
    expect(meta.graphs[0].maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(meta.graphs[0].sha256).not.toBe(meta.graphs[0].source.sha256);
    expect((await readdir(path.dirname(dir))).sort()).toEqual([key]);
    expect(cache.warnings).toEqual([]);
  });

  it('stamps the graphs it hashed: the first check of the copy reads none of their bytes', async () => {
    // Prepare (the build ran in beforeAll; nothing has checked the copy since)
    if (built.status !== 'built') throw new Error(`expected a build, got ${built.status}`);
    performance.clearMeasures('hf-serve:hash');

    // Act
    const changed = await verifyOptimizedGraphs(built.copy, bundle);

    // Assess: intact without a hash; the stamp is the graph's inode state as the copy was published.
    expect(changed).toEqual([]);
    expect(performance.getEntriesByName('hf-serve:hash')).toEqual([]);
    const stamps = JSON.parse(await readFile(path.join(built.copy.dir, VERIFIED_FILE), 'utf8'));
    const graph = await stat(path.join(built.copy.dir, GRAPH), { bigint: true });
    expect(stamps.files[GRAPH]).toEqual({
      sha256: built.copy.graphs[0]?.sha256,
      bytes: Number(graph.size),
      ino: String(graph.ino),
      mtimeNs: String(graph.mtimeNs),
      ctimeNs: String(graph.ctimeNs),
    });
  });

  it('is keyed by the environment: another CPU or ONNX Runtime version is a miss with its own copy', async () => {
    // Prepare
    const here = await graphEnvironment();
    const otherCpu: GraphEnvironment = { ...here, cpuFlags: `${here.cpuFlags} avx512_vnni_imaginary` };
    const otherOrt: GraphEnvironment = { ...here, onnxruntime: '0.0.1' };

    // Act
    const missCpu = await findOptimizedGraphs(bundle, { ...cache.options, environment: otherCpu });
    const missOrt = await findOptimizedGraphs(bundle, { ...cache.options, environment: otherOrt });
    const builtOther = await buildOptimizedGraphs(bundle, { ...cache.options, environment: otherCpu });

    // Assess
    expect(missCpu).toBeUndefined();
    expect(missOrt).toBeUndefined();
    expect(new Set([environmentKey(here), environmentKey(otherCpu), environmentKey(otherOrt)]).size).toBe(3);
    expect(builtOther.status).toBe('built');
    expect((await findOptimizedGraphs(bundle, { ...cache.options, environment: otherCpu }))?.key).toBe(
      environmentKey(otherCpu),
    );
    expect((await findOptimizedGraphs(bundle, cache.options))?.key).toBe(environmentKey(here));
  });

  it('builds once when two builders race, leaving no lock or staging folder', async () => {
    // Prepare
    const race = await freshCache();
    const b = await race.store.ensure(SENTIMENT, '2');

    // Act
    const outcomes = await Promise.all([buildOptimizedGraphs(b, race.options), buildOptimizedGraphs(b, race.options)]);

    // Assess
    const statuses = outcomes.map((o) => o.status).sort();
    expect(statuses[0]).toBe('built');
    expect(['busy', 'found']).toContain(statuses[1]);
    const root = path.join(race.cacheDir, OPTIMIZED_DIR, SENTIMENT, '2');
    expect(await readdir(root)).toEqual([environmentKey(await graphEnvironment())]);
  });

  it('names the graphs transformers.js opens for each fixture and dtype', async () => {
    configureTransformers();
    for (const name of ['tiny-distilbert-sentiment', 'tiny-gpt2', 'tiny-nllb']) {
      const manifest = (await cache.store.ensure(name, '1')).manifest;
      for (const dtype of ['fp32', 'q8'] as const) {
        const files = await ModelRegistry.get_model_files(path.join(FIXTURES, name, '1'), { dtype, device: 'cpu' });
        expect(loaderGraphs({ ...manifest, dtype }), `${name} ${dtype}`).toEqual(
          files.filter((f) => f.endsWith('.onnx')),
        );
      }
    }
    expect(loaderGraphs({ task: 'language-identification', dtype: 'fp32' })).toEqual([]);
  });
});

describe('loaders on an optimised copy', () => {
  let cache: Cache;
  const copyOf = async (name: string): Promise<LocalBundle & { optimized: OptimizedCopy }> => {
    const bundle = await cache.store.ensure(name, '1');
    const outcome = await buildOptimizedGraphs(bundle, cache.options);
    if (!('copy' in outcome)) throw new Error(`no copy of ${name}: ${outcome.reason}`);
    // The bundle's own graphs moved away: a load that still works opened the copy's.
    for (const g of outcome.copy.graphs)
      await rename(path.join(bundle.dir, g.path), `${path.join(bundle.dir, g.path)}.away`);
    return { ...bundle, optimized: outcome.copy };
  };
  beforeAll(async () => {
    cache = await freshCache();
  });

  it('opens the copy with graph optimisation disabled, the bundle itself at level all', async () => {
    const bundle = await cache.store.ensure(SENTIMENT, '2');
    const copy = { dir: '/copy', key: 'k', graphs: [], links: 'symlink' as const };

    expect(modelSource({ ...bundle, optimized: copy })).toMatchObject({
      dir: '/copy',
      session_options: { graphOptimizationLevel: 'disabled' },
    });
    expect(modelSource(bundle)).toMatchObject({ dir: bundle.dir, session_options: { graphOptimizationLevel: 'all' } });
    // Another dtype than the copy was made for: the bundle's own graphs.
    expect(modelSource({ ...bundle, optimized: copy }, { dtype: 'q8' }).dir).toBe(bundle.dir);
  });

  it('classification matches golden.json', async () => {
    const clf = await loadClassifier(await copyOf(SENTIMENT));
    try {
      await classifyGolden(clf);
    } finally {
      await clf.dispose();
    }
  });

  it('generation matches golden.json (greedy tokens, first-step logits)', async () => {
    const golden = fixtureJson<{
      max_new_tokens: number;
      cases: Array<{ prompt: string; messages?: unknown; new_token_ids: number[]; first_step_logits: number[] }>;
    }>('tiny-gpt2');
    const gen: Generator = await loadGenerator(await copyOf('tiny-gpt2'));
    try {
      for (const c of golden.cases.filter((c) => !c.messages)) {
        const out = await gen.generate(c.prompt, { temperature: 0, maxTokens: golden.max_new_tokens });
        expect(out.choices[0]?.tokenIds).toEqual(c.new_token_ids);
        const logits = await gen.nextTokenLogits(c.prompt);
        expect(Math.max(...c.first_step_logits.map((v, i) => Math.abs(v - logits[i]!)))).toBeLessThan(LOGIT_TOLERANCE);
      }
    } finally {
      await gen.dispose();
    }
  });

  it('translation matches golden.json (encoder and merged decoder)', async () => {
    const golden = fixtureJson<{
      max_new_tokens: number;
      cases: Array<{ src_lang: string; tgt_lang: string; text: string; output_ids: number[] }>;
    }>('tiny-nllb');
    const translator = await loadTranslator(await copyOf('tiny-nllb'));
    try {
      for (const c of golden.cases) {
        const [out] = await translator.translate([c.text], {
          source: c.src_lang,
          target: c.tgt_lang,
          maxNewTokens: golden.max_new_tokens,
        });
        expect(out?.tokenIds).toEqual(c.output_ids);
      }
    } finally {
      await translator.dispose();
    }
  });
});

describe('ModelRuntime with the optimised-graph cache', () => {
  it('loads the original on a cold load without a copy, builds one behind it, and the next cold load uses it', async () => {
    // Prepare
    const cache = await freshCache();
    const first = coldRuntime(cache);

    // Act
    const a = await first.runtime.load(`${SENTIMENT}@1`, 'text-classification', classifierLoader);
    await first.graphs.idle();
    const second = coldRuntime(cache);
    const b = await second.runtime.load(`${SENTIMENT}@1`, 'text-classification', classifierLoader);

    // Assess
    expect(first.loads).toEqual([false]);
    expect(second.loads).toEqual([true]);
    await classifyGolden(a.value);
    await classifyGolden(b.value);
    expect(cache.warnings).toEqual([]);
  });

  it('never uses a copy whose graph changed after it was complete: the original answers, the copy is made again', async () => {
    // Prepare
    const cache = await freshCache();
    const bundle = await cache.store.ensure(SENTIMENT, '1');
    const built = await buildOptimizedGraphs(bundle, cache.options);
    if (!('copy' in built)) throw new Error(built.reason);
    const graph = path.join(built.copy.dir, GRAPH);
    const bytes = await readFile(graph);
    const at = Math.floor(bytes.length / 2);
    for (let i = at; i < at + FLIPPED; i++) bytes[i] = bytes[i]! ^ 0xff;
    await writeFile(graph, bytes);
    const cold = coldRuntime(cache);

    // Act
    const loaded = await cold.runtime.load(`${SENTIMENT}@1`, 'text-classification', classifierLoader);
    await cold.graphs.idle();

    // Assess
    expect(cold.loads).toEqual([false]);
    await classifyGolden(loaded.value);
    expect(cache.warnings.map((w) => w.message)).toEqual(['optimized graphs discarded; the original graphs are used']);
    expect(cache.warnings[0]?.details).toMatchObject({ files: [GRAPH] });
    const rebuilt = await findOptimizedGraphs(bundle, cache.options);
    expect(rebuilt?.graphs[0]?.sha256).toBe(built.copy.graphs[0]?.sha256);
  });

  it('never uses a partial copy: no marker, a truncated graph, or metadata of another source', async () => {
    // Prepare: three copies made complete, then each broken one way.
    const cache = await freshCache();
    const bundle = await cache.store.ensure(SENTIMENT, '1');
    const built = await buildOptimizedGraphs(bundle, cache.options);
    if (!('copy' in built)) throw new Error(built.reason);
    const { dir } = built.copy;
    const breakages: Array<[string, () => Promise<void>]> = [
      ['no .complete', () => rename(path.join(dir, '.complete'), path.join(dir, '.was-complete'))],
      [
        'truncated graph',
        async () => writeFile(path.join(dir, GRAPH), (await readFile(path.join(dir, GRAPH))).subarray(0, 1000)),
      ],
      [
        'another source',
        async () => {
          const meta = JSON.parse(await readFile(path.join(dir, OPTIMIZED_META), 'utf8'));
          meta.graphs[0].source.sha256 = 'f'.repeat(64);
          await writeFile(path.join(dir, OPTIMIZED_META), JSON.stringify(meta));
        },
      ],
    ];
    for (const [what, breakIt] of breakages) {
      await rm(dir, { recursive: true, force: true });
      const again = await buildOptimizedGraphs(bundle, cache.options);
      expect(again.status, what).toBe('built');
      await breakIt();
      const cold = coldRuntime(cache);

      // Act
      const loaded = await cold.runtime.load(`${SENTIMENT}@1`, 'text-classification', classifierLoader);

      // Assess
      expect(cold.loads, what).toEqual([false]);
      await classifyGolden(loaded.value);
      await cold.graphs.idle();
    }
  });

  it('falls back to the original bundle, with a warning, where the cache folder cannot be written', async () => {
    // Prepare: `.optimized` is a file, so nothing can be created under it (root ignores a
    // read-only mode, so a file in the way stands in for a read-only folder here).
    const cache = await freshCache();
    await cache.store.ensure(SENTIMENT, '1');
    await writeFile(path.join(cache.cacheDir, OPTIMIZED_DIR), 'not a folder');
    const cold = coldRuntime(cache);

    // Act
    const loaded = await cold.runtime.load(`${SENTIMENT}@1`, 'text-classification', classifierLoader);
    await cold.graphs.idle();
    const warm = await buildOptimizedGraphs(await cache.store.ensure(SENTIMENT, '1'), cache.options);

    // Assess
    expect(cold.loads).toEqual([false]);
    await classifyGolden(loaded.value);
    expect(warm.status).toBe('failed');
    expect(cache.warnings.map((w) => w.details.status)).toEqual(['failed', 'failed']);
  });

  it('rejects a copy whose outputs differ from the original, and does not retry it lazily', async () => {
    // Prepare: a tolerance no graph can meet (the copies of the fixtures answer bit for bit).
    const cache = await freshCache();
    const bundle = await cache.store.ensure(SENTIMENT, '1');
    const strict = { ...cache.options, tolerance: -1 };

    // Act
    const rejected = await buildOptimizedGraphs(bundle, strict);
    const lazy = new OptimizedGraphs(cache.options);
    lazy.buildLater(bundle);
    await lazy.idle();

    // Assess
    expect(rejected).toMatchObject({ status: 'mismatch', reason: expect.stringMatching(/differ from the original's/) });
    expect(await isRejected(bundle, cache.options)).toBe(true);
    expect(await findOptimizedGraphs(bundle, cache.options)).toBeUndefined();
    const root = path.join(cache.cacheDir, OPTIMIZED_DIR, SENTIMENT, '1');
    expect((await readdir(root)).filter((e) => !e.startsWith('.rejected-'))).toEqual([]);
    expect(await exists(path.join(root, environmentKey(await graphEnvironment())))).toBe(false);
    // An explicit build tries again and clears the rejection.
    expect((await buildOptimizedGraphs(bundle, cache.options)).status).toBe('built');
    expect(await isRejected(bundle, cache.options)).toBe(false);
  });

  it('does not build in the background without the memory for it', async () => {
    // Prepare
    const cache = await freshCache();
    const bundle = await cache.store.ensure(SENTIMENT, '1');
    const graphs = new OptimizedGraphs({ ...cache.options, headroom: () => 1024 });

    // Act
    graphs.buildLater(bundle);
    await graphs.idle();

    // Assess
    expect(await findOptimizedGraphs(bundle, cache.options)).toBeUndefined();
    expect(cache.warnings.map((w) => w.message)).toEqual([
      'optimized graphs not built in the background: too little free memory',
    ]);
  });

  it('removes the staging folders of builders that died', async () => {
    // Prepare
    const cache = await freshCache();
    const bundle = await cache.store.ensure(SENTIMENT, '1');
    const key = environmentKey(await graphEnvironment());
    const root = path.join(cache.cacheDir, OPTIMIZED_DIR, SENTIMENT, '1');
    await mkdir(path.join(root, `.staging-${key}-dead`, 'onnx'), { recursive: true });
    await cp(path.join(bundle.dir, GRAPH), path.join(root, `.staging-${key}-dead`, GRAPH));

    // Act
    const outcome = await buildOptimizedGraphs(bundle, cache.options);

    // Assess
    expect(outcome.status).toBe('built');
    expect(await readdir(root)).toEqual([key]);
  });
});
