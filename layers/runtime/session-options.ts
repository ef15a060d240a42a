import os from 'node:os';
import { config } from './config.ts';

/**
 * ONNX Runtime session options, chosen on purpose:
 *
 * - `intraOpNumThreads = os.availableParallelism()`: a Lambda function gets vCPUs in
 *   proportion to its memory (up to 6), and serves one request at a time, so the
 *   operators of one request may use every core. More threads than cores only adds
 *   context switches. `ONNX_THREADS` overrides it where instances share cores (the local
 *   emulator's instance processes: each gets its share, as each Lambda instance has its own).
 * - `interOpNumThreads = 1` with `executionMode: 'sequential'`: transformer graphs are
 *   chains; running independent branches in parallel gains nothing and fights the
 *   intra-op pool for the same cores.
 * - `graphOptimizationLevel: 'all'`: constant folding, node fusions (attention,
 *   GELU, LayerNorm) and layout optimisations. It costs at session creation (cold start:
 *   ~85 ms of the ~240 ms of the 67 MB bench graph) and saves it on every inference.
 *   `'disabled'` for a graph ONNX Runtime already optimised and saved for this machine
 *   (`optimized-graphs.ts`).
 * - `enableCpuMemArena` / `enableMemPattern` stay on (the defaults): allocations are
 *   reused between calls of the same shapes.
 */
export const sessionOptions = (
  threads = config().ONNX_THREADS || os.availableParallelism(),
  graphOptimizationLevel: 'all' | 'disabled' = 'all',
) => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential' as const,
  graphOptimizationLevel,
  enableCpuMemArena: true,
  enableMemPattern: true,
});
