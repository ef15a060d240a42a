import type { Context } from 'aws-lambda';
import type * as z from 'zod';
import { type ApiRoute, httpApi } from '#http/api.ts';
import { planOf } from '#http/api-keys.ts';
import { type ColdStart, coldStartClock } from '#http/cold-start.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';
import { parseInput } from '#http/validate.ts';
import { logger } from '#observability/index.ts';
import { dynamoSdk } from '#predictions/dynamo.ts';
import { type RequestRecords, requestRecords } from '#predictions/index.ts';
import { reportAs } from '#predictions/model-state.ts';
import { UNMETERED, type UsageMeter, withFairUse } from '#predictions/usage.ts';
import { config } from '#runtime/config.ts';
import { DeadlineExceededError, errorMessage } from '#runtime/errors.ts';
import { authenticateBodyKey } from './body-key.ts';
import type { CapabilitySpec, RouteSpec, RouteSpecs } from './spec.ts';

type Parsed<S, K extends 'body' | 'query' | 'params'> = S extends { [P in K]: () => infer Z extends z.ZodType }
  ? z.infer<Z>
  : undefined;

/** What a route's handler gets: its input validated against its spec, and the invocation. */
export interface RouteRequest<S extends RouteSpec = RouteSpec> {
  body: Parsed<S, 'body'>;
  query: Parsed<S, 'query'>;
  params: Parsed<S, 'params'>;
  event: ApiEvent;
  context: Context;
  /** This function's cold start (one per function, whatever else shares the process). */
  coldStart: ColdStart;
  /** The builder of this request's prediction records (capability, request id, key; timestamp at the call). */
  records: () => RequestRecords;
  /**
   * Aborts with a DeadlineExceededError when the gateway answer goes out as a 504
   * (DEADLINE_MARGIN_MS before the function's timeout): long work checks it between steps
   * and stops. Streamed answers add the client leaving (sseStream's signal).
   */
  signal: AbortSignal;
  /**
   * Settles what a metered route really used (completions: the tokens generated), so the
   * rest of what was reserved is refunded (`withFairUse`); a no-op on unmetered routes.
   */
  meter: UsageMeter;
}

/** The invocation's deadline signal, from the Lambda context (the emulator's locally). */
export const invocationSignal = (context: Pick<Context, 'getRemainingTimeInMillis'>): AbortSignal => {
  const deadline = new AbortController();
  const ms = Math.max(0, context.getRemainingTimeInMillis() - config().DEADLINE_MARGIN_MS);
  // unref: a finished invocation's timer keeps nothing alive; firing after the answer is harmless.
  setTimeout(
    () => deadline.abort(new DeadlineExceededError(`The request ran out of time after ${ms} ms.`)),
    ms,
  ).unref();
  return deadline.signal;
};

export type RouteHandlerOf<S extends RouteSpec> = (request: RouteRequest<S>) => Promise<ApiResult>;

/** Exactly one handler per route spec: a missing or an extra one is a type error. */
export type RouteHandlers<R extends RouteSpecs> = { [K in keyof R]: RouteHandlerOf<R[K]> };

/**
 * A capability's Lambda handler: the shared Middy stack (`httpApi`) routing each spec to its
 * handler. Before a handler runs, its body, query string and path parameters are validated
 * with the spec's schemas (a 400 naming the field otherwise); error shape, form encoding and
 * response streaming come from the specs, never from the handler.
 *
 * @example
 * export const handler = bindRoutes(detect, { detect: detectRoute, libreDetect: libreDetectRoute });
 */
export const bindRoutes = <N extends string, R extends RouteSpecs>(
  capability: CapabilitySpec<N, R>,
  handlers: RouteHandlers<R>,
) => {
  const coldStart = coldStartClock();
  reportAs(capability.name);
  const specs = Object.entries(capability.routes) as [keyof R & string, RouteSpec][];
  const routes: ApiRoute[] = specs.map(([name, spec]) => ({
    method: spec.method,
    path: spec.path,
    errorShape: spec.errorShape,
    form: spec.form,
    handler: async (event, context) => {
      // Keyless at the gateway, keyed here: the key from a header or the body's api_key, checked and metered.
      if (spec.auth === 'headerOrBody') await authenticateBodyKey(event);
      const request = {
        body: spec.body ? parseInput(spec.body(), event.body) : undefined,
        query: spec.query ? parseInput(spec.query(), event.queryStringParameters ?? {}) : undefined,
        params: spec.params ? parseInput(spec.params(), event.pathParameters ?? {}) : undefined,
        event,
        context,
        coldStart,
        records: () => requestRecords(capability.name, event.requestContext),
        signal: invocationSignal(context),
        meter: UNMETERED,
      } as RouteRequest;
      // The route's own handler type is checked at the call site above; here every route is one RouteSpec.
      const run = (meter: UsageMeter) =>
        (handlers[name] as unknown as RouteHandlerOf<RouteSpec>)({ ...request, meter });
      // Metered routes: the key's plan's allowance and heavy-work slots, after validation (a 400 costs nothing).
      const caller = { apiKeyId: event.requestContext.identity?.apiKeyId, plan: planOf(event.requestContext) };
      return spec.usage ? withFairUse(spec.usage, capability.name, caller, request.body, run) : run(UNMETERED);
    },
  }));
  return httpApi(routes, { streaming: specs.some(([, spec]) => spec.streaming), coldStart });
};

/**
 * Does what a capability's first request would (load the default model, run it once,
 * import the AWS SDK's DynamoDB commands) during init when Lambda pre-initialises the
 * environment for provisioned concurrency
 * (`AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`): that init is not on any
 * request's path, so the first request finds the model in memory. On-demand inits skip it
 * (the first request pays either way, and a request for another model would pay twice).
 * A failure is logged, not thrown: the first request then loads the model itself.
 *
 * @example
 * await preloadOnProvisioned(() => detect(modelRuntime(), config().DEFAULT_DETECT_MODEL, ['Hello'], 1));
 */
export const preloadOnProvisioned = async (load: () => Promise<unknown>): Promise<boolean> => {
  if (config().AWS_LAMBDA_INITIALIZATION_TYPE !== 'provisioned-concurrency') return false;
  try {
    // The AWS SDK's DynamoDB commands too (imported on first use otherwise, layers/predictions/dynamo.ts).
    await Promise.all([load(), dynamoSdk()]);
    return true;
  } catch (error) {
    logger.warn('default model not loaded during init; the first request loads it', { error: errorMessage(error) });
    return false;
  }
};
