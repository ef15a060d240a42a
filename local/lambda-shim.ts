import { AsyncLocalStorage } from 'node:async_hooks';
import type { Writable } from 'node:stream';

/** Marks a handler wrapped by `awslambda.streamifyResponse`, so the emulator streams it. */
export const STREAMING = Symbol.for('hf-serve.streaming');

/** A response stream that can take the HTTP status and headers before the body. */
export interface MetadataStream extends Writable {
  setMetadata?: (metadata: AwsLambdaResponseMetadata) => void;
}

/** The invoke store's key for the invocation's request id (`@aws/lambda-invoke-store`'s protected key). */
const REQUEST_ID = Symbol.for('_AWS_LAMBDA_REQUEST_ID');
type InvocationValues = Map<symbol | string, unknown>;

/**
 * The runtime's invoke store as Lambda's multi-concurrency runtime has it: one context per
 * invocation (AsyncLocalStorage), which Powertools reads its logger keys, log level and
 * metrics from. In one-process mode the emulator runs every function's invocations
 * concurrently in this process and one shared logger: without it, a line names whichever
 * invocation last set the logger's context.
 */
const invocations = new AsyncLocalStorage<InvocationValues>();
const invokeStore: NonNullable<NonNullable<typeof globalThis.awslambda>['InvokeStore']> = {
  hasContext: () => invocations.getStore() !== undefined,
  get: (key) => invocations.getStore()?.get(key),
  set: (key, value) => {
    const values = invocations.getStore();
    if (!values) throw new Error('No invocation context: set invocation values inside inInvocation()');
    values.set(key, value);
  },
  getRequestId: () => (invocations.getStore()?.get(REQUEST_ID) as string | undefined) ?? '-',
  getXRayTraceId: () => undefined,
};

/**
 * Runs one invocation in its own invoke-store context, as the Lambda runtime does: logger
 * keys set by its handler (function name, request id, correlation id) are its own, whatever
 * else runs in the process at the same time.
 *
 * @example
 * await inInvocation(context.awsRequestId, () => handler(event, context));
 */
export const inInvocation = <T>(requestId: string, run: () => Promise<T>): Promise<T> =>
  invocations.run(new Map([[REQUEST_ID, requestId]]), run);

/**
 * A stand-in for the Lambda runtime's `awslambda` global (response streaming, the invoke
 * store), installed only where the real one is missing: `streamifyResponse` marks the
 * handler, and `HttpResponseStream.from` hands the status and headers to the emulator's
 * stream instead of writing the runtime's binary prelude. `AWS_LAMBDA_MAX_CONCURRENCY`
 * tells Powertools to keep its per-invocation state in the invoke store (its variable, set
 * by the runtime, not part of the functions' configuration).
 */
export const installLambdaShim = (): void => {
  // Other libraries (the Lambda invoke store) may have created the global already,
  // without the streaming functions: fill in only what is missing.
  globalThis.awslambda ??= {} as NonNullable<typeof globalThis.awslambda>;
  const runtime = globalThis.awslambda;
  runtime.streamifyResponse ??= (handler) => Object.assign(handler, { [STREAMING]: true });
  runtime.HttpResponseStream ??= {
    from: (stream: MetadataStream, metadata) => {
      stream.setMetadata?.(metadata);
      return stream;
    },
  };
  if (runtime.InvokeStore === undefined) {
    runtime.InvokeStore = invokeStore;
    // Scoped only inside inInvocation(): outside it (init, tests calling a handler), Powertools shares its state as before.
    process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '1000';
  }
};

installLambdaShim();
