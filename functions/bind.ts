import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { type ApiRoute, httpApi } from '#http/api.ts';
import { type ColdStart, coldStartClock } from '#http/cold-start.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';
import { parseInput } from '#http/validate.ts';
import { type RequestRecords, requestRecords } from '#predictions/index.ts';
import { withFairUse } from '#predictions/usage.ts';
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
}

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
  const specs = Object.entries(capability.routes) as [keyof R & string, RouteSpec][];
  const routes: ApiRoute[] = specs.map(([name, spec]) => ({
    method: spec.method,
    path: spec.path,
    errorShape: spec.errorShape,
    form: spec.form,
    handler: (event, context) => {
      const request = {
        body: spec.body ? parseInput(spec.body(), event.body) : undefined,
        query: spec.query ? parseInput(spec.query(), event.queryStringParameters ?? {}) : undefined,
        params: spec.params ? parseInput(spec.params(), event.pathParameters ?? {}) : undefined,
        event,
        context,
        coldStart,
        records: () => requestRecords(capability.name, event.requestContext),
      } as RouteRequest;
      // The route's own handler type is checked at the call site above; here every route is one RouteSpec.
      const run = () => (handlers[name] as unknown as RouteHandlerOf<RouteSpec>)(request);
      // Metered routes: the key's allowance and heavy-work slots, after validation (a 400 costs nothing).
      return spec.usage
        ? withFairUse(spec.usage, capability.name, event.requestContext.identity?.apiKeyId, request.body, run)
        : run();
    },
  }));
  return httpApi(routes, { streaming: specs.some(([, spec]) => spec.streaming), coldStart });
};
