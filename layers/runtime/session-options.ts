import os from 'node:os';
import { config } from './config.ts';

/** Lambda's memory per vCPU: a function gets one vCPU at 1,769 MB, in proportion up to 6. */
export const LAMBDA_MB_PER_VCPU = 1769;
export const LAMBDA_MAX_VCPUS = 6;

/**
 * The vCPUs Lambda gives a function of this memory size, rounded to whole threads (at
 * least one). The host's `availableParallelism()` inside Lambda counts the machine's
 * cores, not the function's share of them: a 1,024 MB function sees 2 and gets 0.58.
 *
 * @example
 * lambdaVcpus(1024); // => 1
 * lambdaVcpus(4096); // => 2
 * lambdaVcpus(10240); // => 6
 */
export const lambdaVcpus = (memoryMb: number): number =>
  Math.min(LAMBDA_MAX_VCPUS, Math.max(1, Math.round(memoryMb / LAMBDA_MB_PER_VCPU)));

/** ONNX_THREADS, else the function's vCPUs from its memory in Lambda, else this machine's cores. */
const defaultThreads = (): number => {
  const c = config();
  if (c.ONNX_THREADS) return c.ONNX_THREADS;
  if (c.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) return lambdaVcpus(c.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return os.availableParallelism();
};

/**
 * ONNX Runtime session options, chosen on purpose:
 *
 * - `intraOpNumThreads` = the function's vCPUs: a Lambda function gets vCPUs in
 *   proportion to its memory (up to 6; `lambdaVcpus`), and serves one request at a time,
 *   so the operators of one request may use all of them. More threads than vCPUs only
 *   adds context switches and throttling. The stack sets `ONNX_THREADS` from each
 *   function's memory; Lambda's `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` is the fallback, and
 *   outside Lambda the machine's cores. `ONNX_THREADS` also gives the local emulator's
 *   instance processes their share of the cores, as each Lambda instance has its own.
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
 * - `allow_spinning` from `ONNX_SPINNING`: the pool's threads busy-wait for the next
 *   operator (ONNX Runtime's default, the lowest latency on cores of one's own). Where cores
 *   are shared, the spinning takes them from everything else. Measured on the emulator in
 *   one process (test/reliability/noisy-neighbour.test.ts, a loaded 2-core machine), a
 *   light request's p95 was 47 ms alone and 250 ms beside another key's decode loops with
 *   spinning, 9 ms and 77 ms without. The emulator turns it off (local/stack.ts).
 */
export const sessionOptions = (threads = defaultThreads(), graphOptimizationLevel: 'all' | 'disabled' = 'all') => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential' as const,
  graphOptimizationLevel,
  enableCpuMemArena: true,
  enableMemPattern: true,
  extra: { session: { intra_op: { allow_spinning: config().ONNX_SPINNING ? '1' : '0' } } },
});
