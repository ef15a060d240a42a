import { copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isPresent, publishUnlessBusy } from '../atomic-publish.ts';
import { errorMessage } from '../errors.ts';
import type { BundleRef } from '../local-bundle.ts';
import { MANIFEST_FILE } from '../manifest.ts';
import { recordVerified } from '../verified.ts';
import { findOptimizedGraphs, readCopy, resolveBundle, versionRoot } from './copy.ts';
import { keyedEnvironment } from './environment.ts';
import { loaderGraphs } from './loader-graphs.ts';
import {
  DEFAULT_TOLERANCE,
  OPTIMIZED_META,
  type OptimizedCopy,
  type OptimizedGraphsOptions,
  type OptimizedMeta,
} from './meta.ts';
import { GraphRejectedError, graphsOf, optimizeInto } from './optimize.ts';

/**
 * A build lock untouched for this long belongs to a dead (or frozen) builder of another
 * sandbox; one of this sandbox whose pid has exited is taken over at once (`lock-file.ts`).
 */
const LOCK_STALE_MS = 10 * 60_000;

export type BuildOutcome =
  | { status: 'built' | 'found'; copy: OptimizedCopy; ms: number }
  /** busy: another process is building it. unsupported / mismatch: rejected for this key. failed: an error (logged). */
  | { status: 'busy' | 'unsupported' | 'mismatch' | 'failed'; reason: string; ms: number };

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
 *
 * @example
 * await isRejected(bundle, { cacheDir: '/mnt/models' }); // => false until a build was rejected
 */
export const isRejected = async (bundle: BundleRef, options: OptimizedGraphsOptions): Promise<boolean> =>
  isPresent(
    rejectedMarker(versionRoot(options.cacheDir, bundle.manifest), (await keyedEnvironment(options.environment)).key),
  );

/**
 * Builds the optimised copy of a bundle for this environment (or finds it): every graph
 * its loader opens is optimised by ONNX Runtime at level `all` in a worker thread, saved,
 * loaded again with optimisation disabled and run beside the original on sample inputs;
 * the copy is published (`atomic-publish.ts`, fresh staging) only when every output agrees.
 * Never throws: an error is an outcome, and a warning through `onWarning`.
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
    const keyed = await keyedEnvironment(options.environment);
    key = keyed.key;
    root = versionRoot(options.cacheDir, bundle.manifest);
    const existing = await findOptimizedGraphs(bundle, options);
    if (existing) return { status: 'found', copy: existing, ms: ms() };
    const graphs = graphsOf(bundle);
    const dir = path.join(root, key);
    let meta: OptimizedMeta | undefined;
    const outcome = await publishUnlessBusy(
      dir,
      {
        existing: () => findOptimizedGraphs(bundle, options),
        stage: async (staging, heartbeat) => {
          const built = await optimizeInto(bundle, graphs, staging, options, heartbeat);
          meta = {
            schemaVersion: 1,
            name: bundle.manifest.name,
            version: bundle.manifest.version,
            key: keyed.key,
            environment: keyed.environment,
            links: await linkOthers(bundle, staging, graphs),
            graphs: built,
            tolerance: options.tolerance ?? DEFAULT_TOLERANCE,
            created: new Date().toISOString(),
            buildMs: ms(),
          };
          await writeFile(path.join(staging, OPTIMIZED_META), `${JSON.stringify(meta, null, 2)}\n`);
          // optimizeInto has just read every byte of each graph for its sha256: stamped as
          // the model store stamps a bundle it verified, the first cold load on the copy
          // stats its graphs instead of hashing them (the rename keeps their inodes as they are).
          await recordVerified(staging, built);
        },
        // The readers' own check (findOptimizedGraphs), so none of them finds a copy it would discard.
        verify: async (staging) => {
          const { problem } = await readCopy(staging, bundle.manifest, keyed.key);
          if (problem !== undefined) throw new Error(`the staged copy does not match its bundle: ${problem}`);
        },
      },
      { lockStaleMs: LOCK_STALE_MS, staging: 'fresh' },
    );
    if (outcome.status === 'busy') return { status: 'busy', reason: 'another process is building it', ms: ms() };
    if (outcome.status === 'found') return { status: 'found', copy: outcome.found, ms: ms() };
    await rm(rejectedMarker(root, key), { force: true });
    const { graphs: built, links } = meta!;
    return { status: 'built', copy: { dir, key, graphs: built, links }, ms: ms() };
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
