import './lambda-shim.ts';
import { Writable } from 'node:stream';
import { lambdaContext } from './events.ts';
import { inInvocation, type MetadataStream, STREAMING } from './lambda-shim.ts';
import type { ProxyHandler, StreamingHandler } from './server.ts';

/** What one invocation answered: an API result (a stream collected into one), or a direct function's value. */
export interface HandlerResult {
  statusCode?: number;
  headers?: Record<string, unknown>;
  body?: string;
  [key: string]: unknown;
}

/**
 * Invokes a function's handler once with an event, as `npm run invoke` does: a buffered
 * handler's result as it is, a response-streaming handler's status and headers (from its
 * metadata) with its chunks joined as the body. The invocation runs in an invoke-store
 * context of its own (`inInvocation`), as the multi-concurrency runtime runs it, unless
 * `invokeStore: false`: as on-demand Lambda runs one invocation at a time, with no
 * AsyncLocalStorage around it (how the request-path bench's handler loop invokes).
 *
 * @example
 * const result = await runHandler(handler, event, 'predict'); // => { statusCode: 200, headers, body }
 */
export const runHandler = async (
  handler: ProxyHandler | StreamingHandler | ((event: unknown, context: unknown) => Promise<unknown>),
  event: unknown,
  name: string,
  options: { timeoutMs?: number; invokeStore?: boolean } = {},
): Promise<HandlerResult> => {
  const context = lambdaContext(`local-${name}`, options.timeoutMs ?? 28_000);
  if (options.invokeStore === false) return invokeOnce(handler, event, context);
  return inInvocation(context.awsRequestId, () => invokeOnce(handler, event, context));
};

const invokeOnce = async (
  handler: Parameters<typeof runHandler>[0],
  event: unknown,
  context: ReturnType<typeof lambdaContext>,
): Promise<HandlerResult> => {
  if (!(handler as StreamingHandler)[STREAMING]) {
    return (await (handler as (e: unknown, c: unknown) => Promise<unknown>)(event, context)) as HandlerResult;
  }
  const chunks: Buffer[] = [];
  let metadata: AwsLambdaResponseMetadata = {};
  const stream: MetadataStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  stream.setMetadata = (m) => {
    metadata = m;
  };
  const finished = new Promise<void>((resolve) => stream.once('finish', () => resolve()));
  await (handler as StreamingHandler)(event as never, stream, context);
  await finished;
  return {
    statusCode: metadata.statusCode ?? 200,
    headers: metadata.headers ?? {},
    body: Buffer.concat(chunks).toString('utf8'),
  };
};
