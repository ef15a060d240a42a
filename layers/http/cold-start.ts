import type { ApiMiddleware, ApiRequest } from './types.ts';

/**
 * The emulator sets this User Timing mark just before it imports a function into its own
 * process (LOCAL_FUNCTION_CONCURRENCY=0), where the process start is not the function's
 * init. A Lambda instance (and an emulated instance process) has none: its init starts
 * with the process.
 */
export const FUNCTION_INIT_MARK = 'hf-serve:function-init';

let coldStartMs: number | undefined;

/**
 * The cold start as the first caller of an instance waits for it: the init (process start,
 * or the emulator's mark, to the handler built) plus the first invocation's duration.
 * Time the instance sat idle between its init and its first request is not counted.
 * Undefined until an invocation has finished.
 *
 * @example
 * coldStart(); // => 412 (ms) after the first invocation; undefined before
 */
export const coldStart = (): number | undefined => coldStartMs;

/**
 * Measures coldStart(): created when the handler is built (the end of init), it times the
 * first invocation from its first middleware to its last. Use it first in the stack.
 */
export const coldStartTimer = (): ApiMiddleware => {
  const initStart = performance.getEntriesByName(FUNCTION_INIT_MARK).at(-1)?.startTime ?? 0;
  const initMs = performance.now() - initStart;
  const started = new WeakMap<ApiRequest, number>();
  const coldStartTimerBefore = async (request: ApiRequest): Promise<void> => {
    if (coldStartMs === undefined) started.set(request, performance.now());
  };
  const coldStartTimerAfter = async (request: ApiRequest): Promise<void> => {
    const at = started.get(request);
    if (at !== undefined && coldStartMs === undefined) coldStartMs = Math.round(initMs + performance.now() - at);
  };
  return { before: coldStartTimerBefore, after: coldStartTimerAfter, onError: coldStartTimerAfter };
};
