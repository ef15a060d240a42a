import type { Manifest } from './manifest.ts';
import type { OptimizedCopy } from './optimized/meta.ts';

/**
 * A bundle that is complete and verified in the local cache: what the model store
 * (`store.ts`) answers and the loaders open. Its own module so that the store and the
 * optimised-graph cache, which both speak of it, import it one way.
 */
export interface LocalBundle {
  name: string;
  version: string;
  dir: string;
  manifest: Manifest;
  /**
   * True when this call fetched the bundle and checked every file; false when it was found
   * complete in the cache, where a file may have changed since (`verify` checks it).
   */
  fetched: boolean;
  /**
   * Set when the loader should open this environment's pre-optimised graphs instead of the
   * bundle's own (`optimized-graphs.ts`): a bundle folder beside the cache's bundles.
   */
  optimized?: OptimizedCopy;
}

/** A bundle as the optimised-graph builder needs it; a bundle folder (with its manifest.json) also works. */
export type BundleRef = Pick<LocalBundle, 'dir' | 'manifest'>;
