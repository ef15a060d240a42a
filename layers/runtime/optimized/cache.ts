import os from 'node:os';
import { discardFolder } from '../atomic-publish.ts';
import { errorMessage } from '../errors.ts';
import type { BundleRef } from '../local-bundle.ts';
import { type BuildOutcome, buildOptimizedGraphs, isRejected } from './build.ts';
import { findOptimizedGraphs, verifyOptimizedGraphs } from './copy.ts';
import { loaderGraphs } from './loader-graphs.ts';
import type { OptimizedCopy, OptimizedGraphsOptions } from './meta.ts';

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
    await discardFolder(copy.dir).catch((error: unknown) =>
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
