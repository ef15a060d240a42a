import { readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { discardFolder, isComplete } from '../atomic-publish.ts';
import { errorMessage } from '../errors.ts';
import type { BundleRef } from '../local-bundle.ts';
import { type Manifest, readManifest } from '../manifest.ts';
import { changedFiles } from '../verified.ts';
import { keyedEnvironment } from './environment.ts';
import { loaderGraphs } from './loader-graphs.ts';
import {
  OPTIMIZED_DIR,
  OPTIMIZED_META,
  type OptimizedCopy,
  type OptimizedGraphsOptions,
  type OptimizedMeta,
  OptimizedMetaSchema,
} from './meta.ts';

/**
 * Where a bundle's copies live: `<cache>/.optimized/<name>/<version>/`, one folder per key
 * beside their locks, staging folders and rejection markers. Absolute, so that the copy's
 * folder and its symlinks do not depend on the working directory.
 *
 * @example
 * versionRoot('/mnt/models', manifest); // => '/mnt/models/.optimized/tiny-gpt2/1'
 */
export const versionRoot = (cacheDir: string, manifest: Pick<Manifest, 'name' | 'version'>): string =>
  path.resolve(cacheDir, OPTIMIZED_DIR, manifest.name, manifest.version);

/**
 * A bundle given as a folder (its manifest.json is read) or as the store answered it.
 *
 * @example
 * (await resolveBundle('/mnt/models/tiny-gpt2/1')).manifest.name; // => 'tiny-gpt2'
 */
export const resolveBundle = async (bundle: string | BundleRef): Promise<BundleRef> =>
  typeof bundle === 'string'
    ? { dir: path.resolve(bundle), manifest: await readManifest(bundle) }
    : { ...bundle, dir: path.resolve(bundle.dir) };

/** Why a copy cannot serve this bundle in this environment, or undefined when it can. */
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
 * A copy's metadata read as readers read it, and why the copy cannot serve the bundle in
 * this environment (`problem`; undefined when it can). Throws when the metadata is
 * unreadable. The builder puts its staged copy through it before publishing, so readers
 * never find a copy they would discard.
 *
 * @example
 * (await readCopy(dir, manifest, key)).problem; // => 'onnx/model.onnx is 1000 bytes, not 68123456'
 */
export const readCopy = async (
  dir: string,
  manifest: Manifest,
  key: string,
): Promise<{ meta: OptimizedMeta; problem?: string }> => {
  const meta = OptimizedMetaSchema.parse(JSON.parse(await readFile(path.join(dir, OPTIMIZED_META), 'utf8')));
  return { meta, problem: await mismatchOf(meta, dir, manifest, key) };
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
    const { key } = await keyedEnvironment(options.environment);
    dir = path.join(versionRoot(options.cacheDir, manifest), key);
    if (!(await isComplete(dir))) return undefined;
    const { meta, problem } = await readCopy(dir, manifest, key);
    if (problem === undefined) return { dir, key, graphs: meta.graphs, links: meta.links };
    options.onWarning?.('optimized graphs do not match their bundle; discarded', { dir, problem });
  } catch (error) {
    options.onWarning?.('optimized graphs unreadable; discarded', { dir, error: errorMessage(error) });
  }
  if (dir) await discardFolder(dir).catch(() => undefined);
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
