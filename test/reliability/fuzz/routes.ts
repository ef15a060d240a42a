import fc from 'fast-check';
import type { RouteDef } from '#functions/routes.ts';
import type { RouteShape } from './shapes/common.ts';
import { COMPLETIONS_SHAPES } from './shapes/completions.ts';
import { DETECT_SHAPES } from './shapes/detect.ts';
import { MODELS_SHAPES } from './shapes/models.ts';
import { PREDICT_SHAPES } from './shapes/predict.ts';
import { TRANSLATE_SHAPES } from './shapes/translate.ts';
import {
  contentType,
  extraHeaders,
  hostileBody,
  hostileQuery,
  hostileString,
  nearValid,
  nearValidQuery,
  PROTO_KEYS,
  percentEncode,
} from './values.ts';

/** One HTTP request as the fuzzer sends it. */
export interface FuzzRequest {
  method: 'GET' | 'POST';
  /** Path and query string. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** What kind of case this is, for the per-route statistics. */
  kind: 'hostile' | 'near-valid' | 'valid';
}

export const routeKey = (r: Pick<RouteDef, 'method' | 'path'>): string => `${r.method} ${r.path}`;

/**
 * The valid shapes of every route in `functions/routes.ts`, one file per capability
 * (`shapes/`). A route missing here fails the fuzz suite: add its shape when adding the route.
 */
export const ROUTE_SHAPES: Record<string, RouteShape> = {
  ...PREDICT_SHAPES,
  ...COMPLETIONS_SHAPES,
  ...DETECT_SHAPES,
  ...TRANSLATE_SHAPES,
  ...MODELS_SHAPES,
};

/** Whether the route takes input the fuzzer shapes (a body, a query or a path parameter): then some cases must be refused. */
export const takesInput = (route: RouteDef): boolean => {
  const shape = ROUTE_SHAPES[routeKey(route)];
  return Boolean(shape?.body ?? shape?.query ?? shape?.path);
};

/** A body as a form: a list becomes a repeated field, anything else its JSON text or string. */
const formOf = (body: Record<string, unknown>): string => {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(body))
    for (const item of Array.isArray(v) ? v : [v])
      form.append(k, typeof item === 'string' ? item : JSON.stringify(item));
  return form.toString();
};

/** A valid form with one field added, repeated or overwritten (prototype keys included). */
const nearValidForm = (valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> =>
  valid.chain((body) =>
    fc
      .tuple(fc.oneof(fc.constantFrom(...Object.keys(body), ...PROTO_KEYS), hostileString), hostileString)
      .map(([k, v]) => `${formOf(body)}&${percentEncode(k)}=${percentEncode(v)}`),
  );

const KEYED = 'x-api-key';
/**
 * API Gateway refuses a request line plus headers over 10,240 bytes before any function
 * runs; the fuzzer stays under it (with room for the headers the client adds), so what
 * it tests is the product, not Node's own 16 KB header limit.
 */
const MAX_HEAD_BYTES = 9_000;
const headBytes = (path: string, headers: Record<string, string>): number =>
  Buffer.byteLength(path) +
  Object.entries(headers).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v, 'latin1') + 4, 0);

/**
 * The arbitrary of one route: hostile, near-valid and valid requests (bodies, headers,
 * query strings, path parameters), always with `key` so the gateway lets them through.
 * Undefined when the route has no shape in {@link ROUTE_SHAPES}.
 */
export const requestsFor = (route: RouteDef, key: string): fc.Arbitrary<FuzzRequest> | undefined => {
  const shape = ROUTE_SHAPES[routeKey(route)];
  if (!shape) return undefined;
  type Kind = FuzzRequest['kind'];
  const path = shape.path ?? fc.constant(route.path);
  const queryNames = shape.query ? ['model', 'from', 'to', 'bucket', 'limit', 'nextToken'] : [];
  const tagged = <T>(arb: fc.Arbitrary<T>, kind: Kind) => arb.map((value) => ({ value, kind }));
  const query = fc.oneof(
    { arbitrary: tagged(fc.constant(''), 'valid'), weight: 3 },
    { arbitrary: tagged(hostileQuery(queryNames), 'hostile'), weight: 2 },
    ...(shape.query
      ? [
          { arbitrary: tagged(nearValidQuery(shape.query), 'near-valid'), weight: 4 },
          {
            arbitrary: tagged(
              shape.query.map((q) => new URLSearchParams(q).toString()),
              'valid',
            ),
            weight: 3,
          },
        ]
      : []),
  );
  type Body = { body: string | Uint8Array | undefined; type: string | undefined };
  const withType = (body: fc.Arbitrary<string | Uint8Array>, type = contentType()) =>
    fc.tuple(body, type).map(([b, t]): Body => ({ body: b, type: t }));
  const bodies =
    route.method === 'POST' && shape.body
      ? fc.oneof(
          { arbitrary: tagged(withType(hostileBody(shape.body)), 'hostile'), weight: 35 },
          { arbitrary: tagged(withType(nearValid(shape.body)), 'near-valid'), weight: 40 },
          {
            arbitrary: tagged(
              withType(
                shape.body.map((b) => JSON.stringify(b)),
                fc.constant('application/json'),
              ),
              'valid',
            ),
            weight: 20,
          },
          ...(shape.form
            ? [
                {
                  arbitrary: tagged(
                    withType(shape.body.map(formOf), fc.constant('application/x-www-form-urlencoded')),
                    'valid',
                  ),
                  weight: 5,
                },
                {
                  arbitrary: tagged(
                    withType(nearValidForm(shape.body), fc.constant('application/x-www-form-urlencoded')),
                    'near-valid',
                  ),
                  weight: 5,
                },
              ]
            : []),
        )
      : fc.oneof(
          { arbitrary: tagged(fc.constant<Body>({ body: undefined, type: undefined }), 'valid'), weight: 6 },
          { arbitrary: tagged(withType(hostileBody()), 'hostile'), weight: 1 },
        );
  const rank: Record<Kind, number> = { valid: 0, 'near-valid': 1, hostile: 2 };
  return fc
    .tuple(path, query, bodies, extraHeaders)
    .filter(([p, q, , extra]) => headBytes(`${p}?${q.value}`, extra) <= MAX_HEAD_BYTES)
    .map(([p, q, b, extra]) => ({
      method: route.method,
      path: q.value ? `${p}?${q.value}` : p,
      headers: { ...extra, ...(b.value.type === undefined ? {} : { 'content-type': b.value.type }), [KEYED]: key },
      body: b.value.body,
      // The case is as hostile as its most hostile part.
      kind: rank[q.kind] > rank[b.kind] ? q.kind : b.kind,
    }));
};
