import type { ApiMiddleware, ApiRequest } from './types.ts';

/**
 * The emulator sets this User Timing mark just before it imports a function into its own
 * process (LOCAL_FUNCTION_CONCURRENCY=0), where the process start is not the function's
 * init. A Lambda instance (and an emulated instance process) has none: its init starts
 * with the process.
 */
export const FUNCTION_INIT_MARK = 'hf-serve:function-init';

/** One function's cold start, in milliseconds; undefined until its first invocation has finished. */
export interface ColdStart {
  readonly ms: number | undefined;
}

/** Milliseconds on the process's performance clock: now, and when the function's init began. */
export interface InitClock {
  now: () => number;
  initStart: () => number;
}

const PROCESS_CLOCK: InitClock = {
  now: () => performance.now(),
  initStart: () => performance.getEntriesByName(FUNCTION_INIT_MARK).at(-1)?.startTime ?? 0,
};

/**
 * One function's cold start as the first caller of an instance waits for it: the init
 * (process start, or the emulator's mark, to this clock's creation when the handler is
 * built) plus the first invocation's duration. Time the instance sat idle between its init
 * and its first request is not counted. Each function builds its own clock, so functions
 * that share a process (the local emulator) each have theirs.
 *
 * @example
 * const clock = coldStartClock(); // at the end of init; clock.ms === undefined until the first invocation ends
 */
export const coldStartClock = (
  clock: InitClock = PROCESS_CLOCK,
): ColdStart & { start: (request: ApiRequest) => void; finish: (request: ApiRequest) => void } => {
  const initMs = clock.now() - clock.initStart();
  const started = new WeakMap<ApiRequest, number>();
  let ms: number | undefined;
  return {
    get ms() {
      return ms;
    },
    start(request) {
      if (ms === undefined) started.set(request, clock.now());
    },
    finish(request) {
      const at = started.get(request);
      if (at !== undefined && ms === undefined) ms = Math.round(initMs + clock.now() - at);
    },
  };
};

/** Times the function's first invocation on its clock: use it first in the stack, so it spans every middleware. */
export const coldStartMiddleware = (clock: ReturnType<typeof coldStartClock>): ApiMiddleware => {
  const coldStartBefore = async (request: ApiRequest): Promise<void> => clock.start(request);
  const coldStartAfter = async (request: ApiRequest): Promise<void> => clock.finish(request);
  return { before: coldStartBefore, after: coldStartAfter, onError: coldStartAfter };
};
