import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ReadableStream } from 'node:stream/web';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpRouterHandler from '@middy/http-router';
import type { Context } from 'aws-lambda';
import { logger, metrics } from '#observability/index.ts';
import { config, listOf } from '#runtime/config.ts';
import { DeadlineExceededError } from '#runtime/errors.ts';
import { coldStartClock, coldStartMiddleware } from './cold-start.ts';
import { CORS_ALLOW_HEADERS, cors } from './cors.ts';
import { type ErrorShape, errorEnvelope } from './error-envelope.ts';
import { jsonBody } from './json-body.ts';
import { logMetrics } from './log-metrics.ts';
import { correlationId, requestIdHeader } from './request-id.ts';
import { securityHeaders } from './security-headers.ts';
import type { ApiEvent, ApiResult, RouteHandler } from './types.ts';

export interface ApiRoute {
  method: 'GET' | 'POST';
  /** API Gateway resource syntax: `/v1/models/{id}`. */
  path: string;
  errorShape?: ErrorShape;
  /** Also accept form-encoded bodies (LibreTranslate-compatible routes). */
  form?: boolean;
  handler: RouteHandler;
}

const routeKey = (method: string, resource: string): string => `${method} ${resource}`;

/**
 * The Middy stack every capability's function shares: header normalisation, Powertools
 * logger (correlation id = API Gateway request id) and metrics (cold start), JSON body
 * parsing with size and content-type checks, routing, the error envelope, the
 * `x-request-id` echo, CORS and security headers; answers 504 before API Gateway's
 * 29-second limit. With `streaming`, the function is a response-streaming function
 * (every route of it goes through the stream; a JSON answer is one chunk).
 *
 * @example
 * export const handler = httpApi([{ method: 'GET', path: '/health', handler: async () => json({ status: 'ok' }) }]);
 */
export const httpApi = (
  routes: ApiRoute[],
  options: {
    streaming?: boolean;
    /** The function's cold-start clock (one per function); made here when the caller has none. */
    coldStart?: ReturnType<typeof coldStartClock>;
  } = {},
) => {
  const shapes = new Map(routes.map((r) => [routeKey(r.method, r.path), r.errorShape ?? 'default']));
  const forms = new Set(routes.filter((r) => r.form).map((r) => routeKey(r.method, r.path)));
  const origins = listOf(config().CORS_ORIGINS);
  const router = httpRouterHandler<ApiEvent & { body: never }, ApiResult>(
    routes.map((r) => ({ method: r.method, path: r.path, handler: r.handler as never })),
  );
  const api = middy<ApiEvent, ApiResult, Error, Context>({
    timeoutEarlyInMillis: config().DEADLINE_MARGIN_MS,
    timeoutEarlyResponse: () => {
      throw new DeadlineExceededError('The request took too long and was stopped; send fewer or shorter texts.');
    },
  })
    .use(coldStartMiddleware(options.coldStart ?? coldStartClock()))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(correlationId(logger))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(httpHeaderNormalizer())
    .use(cors({ origins, origin: origins[0] ?? '*', headers: CORS_ALLOW_HEADERS.join(',') }))
    .use(securityHeaders())
    .use(requestIdHeader())
    .use(
      errorEnvelope({
        shapeOf: (event) => shapes.get(routeKey(event.httpMethod, event.resource)) ?? 'default',
      }),
    )
    .use(
      jsonBody({
        maxBytes: config().MAX_BODY_BYTES,
        acceptsForm: (event) => forms.has(routeKey(event.httpMethod, event.resource)),
      }),
    )
    .handler(router as unknown as RouteHandler);
  return options.streaming ? streamed(api) : api;
};

/**
 * A response-streaming function (awslambda.streamifyResponse) around the Middy stack: a
 * route may answer with a Readable body (SSE) that reaches the client chunk by chunk, and a
 * string body (every JSON answer) is written at once. Middy's own `streamifyResponse`
 * mode pipes a string body through `Readable.from` and `stream.pipeline`, whose every call
 * builds a Readable, an AbortController and, once finished, an AbortError with its stack:
 * 15-20 µs of each answer in a warm loop, several times that in a profile of the local API.
 * The middlewares see the same response in both modes (Middy runs them before it streams).
 */
const streamed = (api: (event: ApiEvent, context: Context) => Promise<ApiResult>) => {
  const runtime = globalThis.awslambda;
  if (!runtime) throw new Error('awslambda is missing: response streaming needs the Lambda Node.js runtime');
  return runtime.streamifyResponse<ApiEvent, Context>(async (event, responseStream, context) => {
    const { body, ...head } = await api(event, context);
    const stream = runtime.HttpResponseStream.from(responseStream, head);
    const payload = body as unknown;
    if (payload instanceof Readable || payload instanceof ReadableStream) {
      await pipeline(payload, stream);
      return;
    }
    // write, then end: the Lambda runtime's stream sends the HTTP-integration prelude from
    // its own `write`, which `end(chunk)` goes around (aws-lambda-ric's ResponseStream).
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.write(typeof payload === 'string' ? payload : '');
      stream.end(() => resolve());
    });
  });
};
