import { createHash, randomUUID } from 'node:crypto';
import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import { errorMessage } from './errors.ts';
import { maxAbsDiff, sampleFeeds } from './graph-samples.ts';
import { tryLock } from './lock-file.ts';
import {
  changedFiles,
  MANIFEST_FILE,
  type Manifest,
  ManifestFileSchema,
  readManifest,
  sha256File,
  type Task,
} from './manifest.ts';
import { OrtWorker, type TensorData, type WorkerSession } from './ort-worker.ts';
import { sessionOptions } from './session-options.ts';
import { isPresent, type LocalBundle } from './store.ts';

/**
 * Pre-optimised ONNX graphs, cached beside the bundles (issue 9, cold starts).
 *
 * ONNX Runtime spends a large part of session creation on graph optimisation (level
 * `all`). It can save the optimised graph (`optimizedModelFilePath`); loading that file
 * with optimisation `disabled` skips the work: on the 67 MB DistilBERT-shaped bench graph
 * (int8), session creation goes from ~285 ms to ~205 ms (medians of 7 fresh processes, 2
 * busy AMD EPYC cores; the opus-mt-shaped decoder: ~590 ms to ~400 ms). The saved graph is
 * only valid where it was made: level-`all` graphs may hold kernels and layouts chosen for
 * the CPU (ORT warns so when it saves one), so a copy is keyed by the ONNX Runtime version,
 * the architecture, the CPU's identity and feature flags, and the level. One EFS cache
 * serves instances on different hardware; each finds only its own key.
 *
 * Layout: `<cache>/.optimized/<name>/<version>/<key>/` is a bundle folder transformers.js
 * loads as is: the optimised `onnx/*.onnx` under their original relative paths, the
 * bundle's other files as relative symlinks to the bundle (copies where the file system
 * refuses symlinks), `optimized.json` (environment, every graph's sha256 and its source's)
 * and `.complete`. A copy is built in a staging folder and renamed into place with its
 * marker, under a lock file: racing instances build it once and nobody ever sees a partial
 * copy. Before a copy is published, each optimised graph must answer sample inputs as the
 * original does (every output within 1e-4, absolute); a graph that does not is rejected
 * for this key. Nothing here ever fails a load: an error is a warning and the original
 * bundle is used.
 *
 * Benchmarks and tools: `findOptimizedGraphs(dir, { cacheDir })` answers whether this
 * environment has a copy, `buildOptimizedGraphs(dir, { cacheDir })` makes it, and a loader
 * given `{ dir, manifest, optimized: copy }` opens it (`modelSource` in `onnx.ts`).
 */

export const OPTIMIZED_DIR = '.optimized';
export const OPTIMIZED_META = 'optimized.json';
const COMPLETE = '.complete';
/** Largest absolute difference allowed between an optimised graph's outputs and the original's. */
export const DEFAULT_TOLERANCE = 1e-4;
/** A build lock untouched for this long belongs to a dead (or frozen) builder. */
const LOCK_STALE_MS = 10 * 60_000;
/**
 * Memory a build takes beyond the process's, per byte of its largest graph: measured
 * 1.3 to 3.8 (peak RSS growth) on the three bench models; a background build must not
 * push a serving instance out of memory.
 */
const BUILD_MEMORY_PER_GRAPH_BYTE = 4;

/** Memory this process may still take: free memory, bounded by its cgroup limit when it has one. */
const memoryHeadroom = (): number => {
  const limit = process.constrainedMemory?.() ?? 0;
  return limit > 0 ? Math.min(os.freemem(), limit - process.memoryUsage().rss) : os.freemem();
};

/** What an optimised graph is valid for. */
export interface GraphEnvironment {
  onnxruntime: string;
  arch: string;
  /** The CPU's identity (vendor, family, model or implementer, part), from /proc/cpuinfo. */
  cpu: string;
  /** Its feature flags (x86 `flags`, arm64 `Features`), sorted: the kernels ORT may choose from. */
  cpuFlags: string;
  level: 'all';
}

const EnvironmentSchema = z.object({
  onnxruntime: z.string(),
  arch: z.string(),
  cpu: z.string(),
  cpuFlags: z.string(),
  level: z.literal('all'),
});

const OptimizedGraphSchema = ManifestFileSchema.extend({
  /** The original graph this one was made from. */
  source: ManifestFileSchema.pick({ sha256: true, bytes: true }),
  /** Largest absolute output difference on the sample inputs, and how many samples ran. */
  maxAbsDiff: z.number(),
  samples: z.number().int().positive(),
});

const OptimizedMetaSchema = z.object({
  schemaVersion: z.literal(1),
  name: z.string(),
  version: z.string(),
  key: z.string(),
  environment: EnvironmentSchema,
  links: z.enum(['symlink', 'copy']),
  graphs: z.array(OptimizedGraphSchema).min(1),
  tolerance: z.number(),
  created: z.iso.datetime(),
  buildMs: z.number(),
});

export type OptimizedGraph = z.infer<typeof OptimizedGraphSchema>;
type OptimizedMeta = z.infer<typeof OptimizedMetaSchema>;

/** An optimised copy found for this environment: load `dir` with graph optimisation disabled. */
export interface OptimizedCopy {
  dir: string;
  key: string;
  graphs: OptimizedGraph[];
  links: 'symlink' | 'copy';
}

export type Warn = (message: string, details: Record<string, unknown>) => void;

export interface OptimizedGraphsOptions {
  /** The model cache root (`MODEL_CACHE_DIR`): copies go under its `.optimized/`. */
  cacheDir: string;
  onWarning?: Warn;
  /** The environment to key by; default this process's ({@link graphEnvironment}). */
  environment?: GraphEnvironment;
  tolerance?: number;
  /** Intra-op threads of the build's sessions; default 1 (a build runs beside requests). */
  threads?: number;
}

/** A bundle as the builder needs it; a bundle folder (with its manifest.json) also works. */
export type BundleRef = Pick<LocalBundle, 'dir' | 'manifest'>;

export type BuildOutcome =
  | { status: 'built' | 'found'; copy: OptimizedCopy; ms: number }
  /** busy: another process is building it. unsupported / mismatch: rejected for this key. failed: an error (logged). */
  | { status: 'busy' | 'unsupported' | 'mismatch' | 'failed'; reason: string; ms: number };

/** A graph that cannot (unsupported) or must not (mismatch) be replaced by an optimised copy here. */
class GraphRejectedError extends Error {
  constructor(
    readonly status: 'unsupported' | 'mismatch',
    message: string,
  ) {
    super(message);
  }
}

const cpuIdentity = async (): Promise<{ cpu: string; cpuFlags: string }> => {
  const info = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  // The first processor's block: every core of a Lambda host is the same CPU.
  const fields = new Map<string, string>();
  for (const line of info.split('\n\n')[0]?.split('\n') ?? []) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const identity = [
    'vendor_id',
    'cpu family',
    'model',
    'model name',
    'CPU implementer',
    'CPU architecture',
    'CPU variant',
    'CPU part',
  ]
    .filter((k) => fields.has(k))
    .map((k) => `${k}=${fields.get(k)}`);
  const flags = (fields.get('flags') ?? fields.get('Features') ?? '').split(/\s+/).filter(Boolean).sort();
  return {
    cpu: identity.length > 0 ? identity.join('; ') : (os.cpus()[0]?.model ?? 'unknown'),
    cpuFlags: flags.join(' '),
  };
};

let current: Promise<GraphEnvironment> | undefined;
/**
 * This process's environment: the onnxruntime-node package the functions load, the
 * architecture, the CPU's identity and feature flags.
 *
 * @example
 * await graphEnvironment(); // => { onnxruntime: '1.30.0', arch: 'arm64', cpu: 'CPU implementer=0x41; ...', cpuFlags: 'aes asimd ...', level: 'all' }
 */
export const graphEnvironment = (): Promise<GraphEnvironment> => {
  current ??= cpuIdentity().then(({ cpu, cpuFlags }) => ({
    onnxruntime: (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version,
    arch: process.arch,
    cpu,
    cpuFlags,
    level: 'all' as const,
  }));
  return current;
};

/** The folder name of an environment's copies: a digest, so any change of any field is another key. */
export const environmentKey = (environment: GraphEnvironment): string =>
  createHash('sha256')
    .update(JSON.stringify(EnvironmentSchema.parse(environment)))
    .digest('hex')
    .slice(0, 16);

// Absolute, so that the copy's folder and its symlinks do not depend on the working directory.
const versionRoot = (cacheDir: string, manifest: Manifest): string =>
  path.resolve(cacheDir, OPTIMIZED_DIR, manifest.name, manifest.version);

const resolveBundle = async (bundle: string | BundleRef): Promise<BundleRef> =>
  typeof bundle === 'string'
    ? { dir: path.resolve(bundle), manifest: await readManifest(bundle) }
    : { ...bundle, dir: path.resolve(bundle.dir) };

const keyOf = async (options: OptimizedGraphsOptions) => {
  const environment = options.environment ?? (await graphEnvironment());
  return { environment, key: environmentKey(environment) };
};

/** Why a complete copy cannot serve this bundle in this environment, or undefined when it can. */
const mismatchOf = async (
  meta: OptimizedMeta,
  dir: string,
  manifest: Manifest,
  key: string,
): Promise<string | undefined> => {
  if (meta.key !== key || meta.name !== manifest.name || meta.version !== manifest.version) {
    return 'optimized.json names another model or environment';
  }
  for (const graph of meta.graphs) {
    const source = manifest.files.find((f) => f.path === graph.path);
    if (!source || source.sha256 !== graph.source.sha256) return `${graph.path} was made from another graph`;
    const bytes = await stat(path.join(dir, graph.path)).then(
      (s) => s.size,
      () => undefined,
    );
    if (bytes !== graph.bytes)
      return `${graph.path} is ${bytes === undefined ? 'missing' : `${bytes} bytes, not ${graph.bytes}`}`;
  }
  return undefined;
};

/**
 * Removes a copy: renamed aside first (atomic), so no reader ever opens a half-deleted one.
 */
export const discardOptimizedGraphs = async (dir: string): Promise<void> => {
  const aside = path.join(path.dirname(dir), `.discarded-${path.basename(dir)}-${randomUUID()}`);
  await rename(dir, aside).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rm(aside, { recursive: true, force: true });
};

/**
 * The optimised copy of a bundle for this environment, or undefined. Cheap (a marker, a
 * small JSON file, one stat per graph): it runs on every cold load. A complete copy that
 * does not match (another source graph, a graph of the wrong size, unreadable metadata) is
 * discarded with a warning so it can be made again; sha256 of the graphs is checked by
 * {@link verifyOptimizedGraphs}, beside the load.
 *
 * @example
 * const copy = await findOptimizedGraphs('/mnt/models/tiny-gpt2/1', { cacheDir: '/mnt/models' });
 * copy?.dir; // => '/mnt/models/.optimized/tiny-gpt2/1/3f2a…' (undefined: none for this environment)
 */
export const findOptimizedGraphs = async (
  bundle: string | BundleRef,
  options: OptimizedGraphsOptions,
): Promise<OptimizedCopy | undefined> => {
  let dir: string | undefined;
  try {
    const { manifest } = await resolveBundle(bundle);
    if (loaderGraphs(manifest).length === 0) return undefined;
    const { key } = await keyOf(options);
    dir = path.join(versionRoot(options.cacheDir, manifest), key);
    if (!(await isPresent(path.join(dir, COMPLETE)))) return undefined;
    const meta = OptimizedMetaSchema.parse(JSON.parse(await readFile(path.join(dir, OPTIMIZED_META), 'utf8')));
    const problem = await mismatchOf(meta, dir, manifest, key);
    if (problem === undefined) return { dir, key, graphs: meta.graphs, links: meta.links };
    options.onWarning?.('optimized graphs do not match their bundle; discarded', { dir, problem });
  } catch (error) {
    options.onWarning?.('optimized graphs unreadable; discarded', { dir, error: errorMessage(error) });
  }
  if (dir) await discardOptimizedGraphs(dir).catch(() => undefined);
  return undefined;
};

/**
 * The files of a copy that changed since it was made: each optimised graph against its
 * sha256 (every byte read, as `ModelStore.verify` does for the graphs it replaces), each
 * other file still the bundle's own (the same symlink, or a copy with the manifest's sha256).
 *
 * @example
 * await verifyOptimizedGraphs(copy, bundle); // => [] when intact, ['onnx/model.onnx'] when it changed
 */
export const verifyOptimizedGraphs = async (copy: OptimizedCopy, bundle: BundleRef): Promise<string[]> => {
  const replaced = new Set(copy.graphs.map((g) => g.path));
  const others = bundle.manifest.files.filter((f) => !replaced.has(f.path));
  const changed = await changedFiles(copy.dir, copy.links === 'copy' ? [...copy.graphs, ...others] : copy.graphs);
  if (copy.links === 'symlink') {
    for (const file of others) {
      const linked = path.join(copy.dir, file.path);
      const target = path.relative(path.dirname(linked), path.join(bundle.dir, file.path));
      if ((await readlink(linked).catch(() => '')) !== target) changed.push(file.path);
    }
  }
  return changed;
};

/**
 * The graph files each task's loader opens, by transformers.js model class: sequence
 * classification and causal LMs `model`, seq2seq `encoder_model` and
 * `decoder_model_merged`; `_quantized` for q8. A table, not transformers.js's
 * `ModelRegistry.get_model_files`, so that the detect function's bundle stays without
 * transformers.js; a unit test holds the table to the library's answer on every fixture.
 * Language identification (plain ONNX Runtime, a tiny graph) has none.
 */
const LOADER_GRAPHS: Partial<Record<Task, readonly string[]>> = {
  'text-classification': ['model'],
  'text-generation': ['model'],
  translation: ['encoder_model', 'decoder_model_merged'],
};
const DTYPE_SUFFIX: Record<Manifest['dtype'], string> = { fp32: '', q8: '_quantized' };

/**
 * The graphs the loader of a bundle opens (empty: nothing to optimise).
 *
 * @example
 * loaderGraphs(manifest); // => ['onnx/encoder_model_quantized.onnx', 'onnx/decoder_model_merged_quantized.onnx'] (translation, q8)
 */
export const loaderGraphs = (manifest: Pick<Manifest, 'task' | 'dtype'>): string[] =>
  (LOADER_GRAPHS[manifest.task] ?? []).map((name) => `onnx/${name}${DTYPE_SUFFIX[manifest.dtype]}.onnx`);

const graphsOf = (bundle: BundleRef): string[] => {
  const graphs = loaderGraphs(bundle.manifest);
  for (const g of graphs) {
    if (!bundle.manifest.files.some((f) => f.path === g)) {
      throw new GraphRejectedError('unsupported', `${g} is not in the manifest`);
    }
    // Weights in external data files would need ORT's external-initializer options on save.
    if (bundle.manifest.files.some((f) => f.path.startsWith(`${g}_data`))) {
      throw new GraphRejectedError('unsupported', `${g} keeps its weights in external data files`);
    }
  }
  return graphs;
};

/** Creates a session in the worker, runs the samples through it and releases it: one session at a time. */
const runSamples = async (
  ort: OrtWorker,
  file: string,
  options: InferenceSession.SessionOptions,
  feedsFor: (inputs: WorkerSession['inputMetadata']) => Array<Record<string, TensorData>>,
): Promise<Array<Record<string, TensorData>>> => {
  const session = await ort.create(file, options);
  try {
    const outputs: Array<Record<string, TensorData>> = [];
    for (const feed of feedsFor(session.inputMetadata)) outputs.push(await ort.run(session.handle, feed));
    return outputs;
  } finally {
    await ort.release(session.handle);
  }
};

/**
 * Optimises each graph into `staging` and checks it against the original on sample
 * inputs. The original's session (which saves the optimised graph) is released before the
 * optimised one is created, so a build holds one extra session at a time.
 */
const optimizeInto = async (
  bundle: BundleRef,
  graphs: string[],
  staging: string,
  options: OptimizedGraphsOptions,
): Promise<OptimizedGraph[]> => {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  // The loaders' own options (session-options.ts): the saved graph is what they would have made.
  const withLevel = (level: 'all' | 'disabled') => ({
    ...sessionOptions(options.threads ?? 1, level),
    executionProviders: ['cpu'],
  });
  const out: OptimizedGraph[] = [];
  const ort = OrtWorker.start();
  try {
    for (const rel of graphs) {
      const source = bundle.manifest.files.find((f) => f.path === rel)!;
      const src = path.join(bundle.dir, rel);
      // The copy inherits its source's trust: made only from the manifest's bytes.
      if ((await sha256File(src)) !== source.sha256) throw new Error(`${rel} does not match the manifest's sha256`);
      const dst = path.join(staging, rel);
      await mkdir(path.dirname(dst), { recursive: true });
      let feeds: Array<Record<string, TensorData>> = [];
      const samples = (inputs: WorkerSession['inputMetadata']) => {
        try {
          feeds = sampleFeeds(inputs);
          return feeds;
        } catch (error) {
          throw new GraphRejectedError('unsupported', `${rel}: ${errorMessage(error)}`);
        }
      };
      // Level `all`, as the loaders open an original; logSeverityLevel 3 silences ORT's
      // "hardware specific" warning about the saved graph, which the key accounts for.
      const expected = await runSamples(
        ort,
        src,
        { ...withLevel('all'), optimizedModelFilePath: dst, logSeverityLevel: 3 },
        samples,
      );
      const actual = await runSamples(ort, dst, withLevel('disabled'), () => feeds);
      const diff = Math.max(...expected.map((e, i) => maxAbsDiff(e, actual[i]!)));
      if (!(diff <= tolerance)) {
        throw new GraphRejectedError(
          'mismatch',
          `${rel}: the optimised graph's outputs differ from the original's by ${diff} on sample inputs (tolerance ${tolerance})`,
        );
      }
      out.push({
        path: rel,
        sha256: await sha256File(dst),
        bytes: (await stat(dst)).size,
        source: { sha256: source.sha256, bytes: source.bytes },
        maxAbsDiff: diff,
        samples: feeds.length,
      });
    }
  } finally {
    await ort.close();
  }
  return out;
};

/** Puts the bundle's other files beside the optimised graphs: relative symlinks, or copies. */
const linkOthers = async (bundle: BundleRef, staging: string, graphs: string[]): Promise<'symlink' | 'copy'> => {
  const others = [...bundle.manifest.files.map((f) => f.path).filter((p) => !graphs.includes(p)), MANIFEST_FILE];
  let links: 'symlink' | 'copy' = 'symlink';
  for (const [i, rel] of others.entries()) {
    const target = path.join(bundle.dir, rel);
    const linked = path.join(staging, rel);
    await mkdir(path.dirname(linked), { recursive: true });
    if (links === 'symlink') {
      try {
        await symlink(path.relative(path.dirname(linked), target), linked);
        continue;
      } catch (error) {
        // The first link tells whether the file system has symlinks; a later failure is an error.
        if (i > 0) throw error;
        links = 'copy';
      }
    }
    await copyFile(target, linked);
  }
  return links;
};

const rejectedMarker = (root: string, key: string): string => path.join(root, `.rejected-${key}.json`);

/**
 * True when a build for this key was rejected (unsupported graph, outputs that differ): lazy
 * builds do not try again; an explicit {@link buildOptimizedGraphs} does.
 */
export const isRejected = async (bundle: BundleRef, options: OptimizedGraphsOptions): Promise<boolean> =>
  isPresent(rejectedMarker(versionRoot(options.cacheDir, bundle.manifest), (await keyOf(options)).key));

/**
 * Builds the optimised copy of a bundle for this environment (or finds it): every graph
 * its loader opens is optimised by ONNX Runtime at level `all` in a worker thread, saved,
 * loaded again with optimisation disabled and run beside the original on sample inputs;
 * the copy is published only when every output agrees. Never throws: an error is an
 * outcome, and a warning through `onWarning`.
 *
 * @example
 * await buildOptimizedGraphs('/mnt/models/tiny-gpt2/1', { cacheDir: '/mnt/models' });
 * // => { status: 'built', copy: { dir: '/mnt/models/.optimized/tiny-gpt2/1/3f2a…', ... }, ms: 412 }
 */
export const buildOptimizedGraphs = async (
  bundleArg: string | BundleRef,
  options: OptimizedGraphsOptions,
): Promise<BuildOutcome> => {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let root: string | undefined;
  let key: string | undefined;
  try {
    const bundle = await resolveBundle(bundleArg);
    // Nothing to do for this task (language identification): not a warning, not a rejection.
    if (loaderGraphs(bundle.manifest).length === 0) {
      return { status: 'unsupported', reason: `no graphs to optimise for ${bundle.manifest.task}`, ms: ms() };
    }
    const keyed = await keyOf(options);
    key = keyed.key;
    root = versionRoot(options.cacheDir, bundle.manifest);
    const existing = await findOptimizedGraphs(bundle, options);
    if (existing) return { status: 'found', copy: existing, ms: ms() };
    const graphs = graphsOf(bundle);
    await mkdir(root, { recursive: true });
    const lock = path.join(root, `.${key}.lock`);
    if (!(await tryLock(lock, LOCK_STALE_MS))) {
      return { status: 'busy', reason: 'another process is building it', ms: ms() };
    }
    try {
      const done = await findOptimizedGraphs(bundle, options);
      if (done) return { status: 'found', copy: done, ms: ms() };
      // Staging folders of this key left by builders that died (the lock makes them nobody's),
      // and discarded copies whose removal was cut short.
      for (const entry of await readdir(root)) {
        if (entry.startsWith(`.staging-${key}-`) || entry.startsWith(`.discarded-${key}-`)) {
          await rm(path.join(root, entry), { recursive: true, force: true });
        }
      }
      const staging = path.join(root, `.staging-${key}-${randomUUID()}`);
      try {
        const built = await optimizeInto(bundle, graphs, staging, options);
        const links = await linkOthers(bundle, staging, graphs);
        const meta: OptimizedMeta = {
          schemaVersion: 1,
          name: bundle.manifest.name,
          version: bundle.manifest.version,
          key,
          environment: keyed.environment,
          links,
          graphs: built,
          tolerance: options.tolerance ?? DEFAULT_TOLERANCE,
          created: new Date().toISOString(),
          buildMs: ms(),
        };
        await writeFile(path.join(staging, OPTIMIZED_META), `${JSON.stringify(meta, null, 2)}\n`);
        await writeFile(path.join(staging, COMPLETE), `${meta.created}\n`);
        const dir = path.join(root, key);
        // A complete copy there is another builder's (one that outlived a lock taken as
        // stale): keep it, readers may have it open. Anything else there is debris.
        const other = await findOptimizedGraphs(bundle, options);
        if (other) return { status: 'found', copy: other, ms: ms() };
        await rm(dir, { recursive: true, force: true });
        await rename(staging, dir);
        await rm(rejectedMarker(root, key), { force: true });
        return { status: 'built', copy: { dir, key, graphs: built, links }, ms: ms() };
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  } catch (error) {
    const status = error instanceof GraphRejectedError ? error.status : 'failed';
    if (status !== 'failed' && root && key) {
      await writeFile(rejectedMarker(root, key), `${JSON.stringify({ status, reason: errorMessage(error) })}\n`).catch(
        () => undefined,
      );
    }
    options.onWarning?.('optimized graphs not built; the original graphs are used', {
      bundle: typeof bundleArg === 'string' ? bundleArg : bundleArg.dir,
      status,
      error: errorMessage(error),
    });
    return { status, reason: errorMessage(error), ms: ms() };
  }
};

/**
 * The optimised-graph cache of one process: what `ModelRuntime` asks on each cold load,
 * and the lazy builds it queues after a cold load that found no copy (one at a time, in a
 * worker thread, so requests keep being answered; `idle()` resolves when none is left).
 *
 * @example
 * const graphs = new OptimizedGraphs({ cacheDir: '/mnt/models', onWarning: (m, d) => logger.warn(m, d) });
 * const copy = await graphs.find(bundle); // undefined the first time
 * graphs.buildLater(bundle); await graphs.idle(); // now find() answers the copy
 */
export class OptimizedGraphs {
  private queue: Promise<void> = Promise.resolve();
  private readonly scheduled = new Set<string>();

  constructor(
    readonly options: OptimizedGraphsOptions & {
      onBuilt?: (built: { copy: OptimizedCopy; ms: number }) => void;
      /** Bytes of memory the process may still take (tests); default free memory within the cgroup limit. */
      headroom?: () => number;
    },
  ) {}

  find(bundle: BundleRef): Promise<OptimizedCopy | undefined> {
    return findOptimizedGraphs(bundle, this.options);
  }

  verify(copy: OptimizedCopy, bundle: BundleRef): Promise<string[]> {
    return verifyOptimizedGraphs(copy, bundle);
  }

  /** Drops a copy the load could not trust (changed files, a failed load). */
  async discard(copy: OptimizedCopy, reason: Record<string, unknown>): Promise<void> {
    this.options.onWarning?.('optimized graphs discarded; the original graphs are used', { dir: copy.dir, ...reason });
    await discardOptimizedGraphs(copy.dir).catch((error: unknown) =>
      this.options.onWarning?.('optimized graphs could not be removed', { dir: copy.dir, error: errorMessage(error) }),
    );
  }

  build(bundle: string | BundleRef): Promise<BuildOutcome> {
    return buildOptimizedGraphs(bundle, this.options);
  }

  /**
   * Queues a build of the bundle's copy, unless one is queued, its task has no graphs, this
   * key was rejected, or the process lacks the memory (`warm` builds it then).
   */
  buildLater(bundle: BundleRef): void {
    if (loaderGraphs(bundle.manifest).length === 0) return;
    const id = `${bundle.manifest.name}@${bundle.manifest.version}`;
    if (this.scheduled.has(id)) return;
    this.scheduled.add(id);
    this.queue = this.queue
      .then(async () => {
        if (await isRejected(bundle, this.options)) return;
        const graphs = new Set(loaderGraphs(bundle.manifest));
        const largest = Math.max(0, ...bundle.manifest.files.filter((f) => graphs.has(f.path)).map((f) => f.bytes));
        const headroom = (this.options.headroom ?? memoryHeadroom)();
        if (headroom < largest * BUILD_MEMORY_PER_GRAPH_BYTE) {
          this.options.onWarning?.('optimized graphs not built in the background: too little free memory', {
            model: id,
            headroomBytes: headroom,
            neededBytes: largest * BUILD_MEMORY_PER_GRAPH_BYTE,
          });
          return;
        }
        const outcome = await this.build(bundle);
        if (outcome.status === 'built') this.options.onBuilt?.({ copy: outcome.copy, ms: outcome.ms });
      })
      .catch((error: unknown) => this.options.onWarning?.('optimized graphs not built', { error: errorMessage(error) }))
      .finally(() => this.scheduled.delete(id));
  }

  /** Resolves when no build is queued or running. */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.queue;
      await seen;
    } while (seen !== this.queue);
  }
}
