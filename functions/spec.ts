import type * as z from 'zod';
import type { ErrorShape } from '#http/error-envelope.ts';
import type { RouteUsage } from '#predictions/units.ts';

/**
 * Route specs: every fact about one route, stated once. A capability's `routes.ts`
 * declares its routes with `defineCapability`; the route table (`functions/routes.ts`),
 * the CDK REST API (`infra/`), the local emulator (`local/`), the OpenAPI document
 * (`functions/openapi.ts`) and the handler (`bindRoutes` in `functions/bind.ts`) all read
 * these objects, so none of them restates a method, a path, an error shape, a body
 * encoding or a schema.
 */

export type HttpMethod = 'GET' | 'POST';

/**
 * OpenAI-compatible routes answer errors in OpenAI's shape, LibreTranslate-compatible ones in
 * LibreTranslate's `{"error": "…"}`; every other route in the product's envelope.
 */
export type { ErrorShape };

/** A request example: the body of a POST, or the query and path parameters of a GET. */
export interface RouteExample {
  summary: string;
  value: Record<string, unknown>;
}

export interface RouteSpec {
  method: HttpMethod;
  /** API Gateway resource syntax: `/v1/models/{id}`. */
  path: string;
  /** The OpenAPI summary (and description) of the operation. */
  summary: string;
  description?: string;
  /**
   * `none`: the gateway lets it through without a key (the health check, LibreTranslate's cheap GETs).
   * `headerOrBody`: keyless at the gateway; the function takes the key from the headers or the
   * body's `api_key` (LibreTranslate's clients), checks and meters it itself (`functions/body-key.ts`).
   */
  auth?: 'apiKey' | 'none' | 'headerOrBody';
  /** Default: the product's envelope `{"error":{"code","message","requestId","details"?}}`. */
  errorShape?: ErrorShape;
  /** Served through Lambda response streaming (SSE when the request asks for it). */
  streaming?: boolean;
  /** The body may also be a form, url-encoded or `multipart/form-data` (LibreTranslate clients send both). */
  form?: boolean;
  /**
   * Answered by the gateway itself with this JSON body (status 200): an API Gateway MOCK
   * integration, and the emulator likewise, so no function is invoked (the health check).
   */
  mock?: { body: Record<string, unknown> };
  /**
   * Request schemas, built from the current configuration (limits name themselves in the
   * messages): the JSON body of a POST, the query string of a GET, the path parameters.
   * The handler binding validates with exactly these objects before the route runs.
   */
  body?: () => z.ZodType;
  query?: () => z.ZodObject;
  params?: () => z.ZodObject;
  /** The 200 answer (checked against real answers by test/integration/openapi.test.ts). */
  response: z.ZodType;
  /** The chunk each Server-Sent Event carries when the request asks for `"stream": true`. */
  streamChunk?: z.ZodType;
  /**
   * `model` may name a Hugging Face id (`functions/hub-model.ts`): the route may answer 202
   * while it is imported, 403 outside the stage's allowlist, 422 when the import failed.
   */
  hubImport?: boolean;
  /** Metered per key in the unit that costs, and/or limited in flight per key (`layers/predictions/usage.ts`). */
  usage?: RouteUsage;
  /** Named request examples; the contract test sends each to the real handler and expects a 2xx. */
  examples?: () => Record<string, RouteExample>;
}

export type RouteSpecs = Record<string, RouteSpec>;

/** One capability: the Lambda function that serves it, its routes, and its OpenAPI tag text. */
export interface CapabilitySpec<N extends string = string, R extends RouteSpecs = RouteSpecs> {
  name: N;
  /** The OpenAPI tag's description. */
  description: string;
  routes: R;
}

/**
 * Declares a capability's routes; the literal types are kept so that `bindRoutes` can
 * type each route's parsed input and require exactly one handler per route.
 *
 * @example
 * export const demo = defineCapability('demo', {
 *   description: 'A demo.',
 *   routes: { hello: { method: 'GET', path: '/v1/hello', summary: 'Say hello', response: z.object({ hi: z.string() }) } },
 * });
 * demo.routes.hello.path; // => '/v1/hello'
 */
export const defineCapability = <const N extends string, const R extends RouteSpecs>(
  name: N,
  spec: { description: string; routes: R },
): CapabilitySpec<N, R> => ({ name, ...spec });

/** `"<METHOD> <path>"`, the key routes are known by in tests and in the OpenAPI document. */
export const routeKey = (method: string, path: string): string => `${method} ${path}`;
