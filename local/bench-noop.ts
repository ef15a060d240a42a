import type { APIGatewayProxyResult } from 'aws-lambda';
import type { RouteDef } from '#functions/routes.ts';

/** The bench's no-op function: its name in the emulator, never a capability (no folder, no bundle, no stack). */
export const BENCH_NOOP = 'benchNoop' as const;

/**
 * The route the request-path bench (bench/request-path.ts) takes as its routing baseline:
 * keyed like the capabilities' routes and answered by a function the emulator invokes as
 * it invokes theirs (proxy event, Lambda context, invocation context, the Lambda metrics
 * it records, response mapping), so a capability's p50 minus this one's is the cost of
 * the function's own code. `GET /health` is not that baseline: a MOCK integration, the
 * gateway answers it without invoking anything. Served only when the local stack is
 * started with `benchNoop` (the bench's stack); not in `ROUTES`, so neither `npm start`
 * nor the CDK stack has it.
 */
export const BENCH_NOOP_ROUTE = {
  method: 'POST',
  path: '/bench/noop',
  fn: BENCH_NOOP,
  apiKeyRequired: true,
} as const satisfies Omit<RouteDef, 'fn'> & { fn: typeof BENCH_NOOP };

/**
 * The no-op function's handler: a Lambda proxy handler that reads nothing and answers 200 `{}`.
 *
 * @example
 * await benchNoopHandler(); // => { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' }
 */
export const benchNoopHandler = async (): Promise<APIGatewayProxyResult> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: '{}',
});
