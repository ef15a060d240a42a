import * as z from 'zod';
import {
  createDocument,
  type oas31,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { config } from '#runtime/config.ts';
import pkg from '../package.json' with { type: 'json' };
import { CAPABILITY_SPECS, type Capability, ROUTES, type RouteDef } from './routes.ts';
import { ErrorEnvelope, ImportJobView, LibreTranslateError, OpenAIError } from './schemas.ts';
import { type RouteSpec, routeKey } from './spec.ts';

export type OpenApiDocument = oas31.OpenAPIObject;

/** Every route's spec, keyed `"<METHOD> <path>"` like the route table. */
export const routeSpecs = (): ReadonlyMap<string, RouteSpec> =>
  new Map(
    CAPABILITY_SPECS.flatMap((c) =>
      Object.values(c.routes).map((spec): [string, RouteSpec] => [routeKey(spec.method, spec.path), spec]),
    ),
  );

/** The order the document presents the capabilities' tags in (the route table orders the paths). */
const TAG_ORDER: readonly Capability[] = ['predict', 'detect', 'translate', 'completions'];

const tags = (): oas31.TagObject[] =>
  TAG_ORDER.map((name) => ({ name, description: CAPABILITY_SPECS.find((c) => c.name === name)!.description }));

const description = (): string => {
  const c = config();
  return [
    'Hugging Face ONNX models served as HTTP APIs on AWS Lambda.',
    '',
    'Every route but `/health`, `GET /languages` and `GET /frontend/settings` needs the API key, as `Authorization: Bearer <key>` or in the `x-api-key` header. Errors are JSON: `{"error":{"code","message","requestId","details"?}}`,',
    'or OpenAI\'s `{"error":{"message","type","param","code"}}` on `/v1/models` and the completions routes,',
    'or LibreTranslate\'s `{"error":"…"}` on the LibreTranslate routes; a 4xx message says how to fix the request.',
    `Limits: ${c.MAX_TEXT_CHARS} characters per text, ${c.MAX_BATCH_SIZE} texts per batch, ${c.MAX_BODY_BYTES} bytes per body.`,
  ].join('\n');
};

/** `POST /v1/chat/completions` → `postV1ChatCompletions`; `{id}` → `ById`. */
const operationId = (route: RouteDef): string =>
  route.method.toLowerCase() +
  route.path
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith('{') ? `By${part.slice(1, 2).toUpperCase()}${part.slice(2, -1)}` : part))
    .map((part) => part.replace(/(^|[-_])([a-z0-9])/g, (_, __, ch: string) => ch.toUpperCase()))
    .join('');

const jsonContent = (schema: z.ZodType) => ({ 'application/json': { schema } });

/** The error answers a route can give, in the shape its function answers errors (the gateway answers its 401, 403 and 429 in the same shape). */
const errorResponses = (route: RouteDef, doc: RouteSpec): ZodOpenApiResponsesObject => {
  const shape =
    route.errorShape === 'openai'
      ? OpenAIError
      : route.errorShape === 'libretranslate'
        ? LibreTranslateError
        : ErrorEnvelope;
  const out: ZodOpenApiResponsesObject = {};
  if (doc.body || doc.query || doc.params) {
    out['400'] = {
      description: 'The request is invalid; the message says how to fix it.',
      content: jsonContent(shape),
    };
  }
  if (route.apiKeyRequired || route.bodyKey) {
    // The gateway answers these in the route family's shape (functions/gateway-responses.ts).
    out['401'] = {
      description: 'No API key: send `Authorization: Bearer <key>` or `x-api-key`.',
      content: jsonContent(shape),
    };
    out['403'] = { description: 'Invalid API key.', content: jsonContent(shape) };
  }
  if (route.errorShape === 'openai' && (doc.body || doc.params)) {
    out['404'] = { description: 'No such model (`model_not_found`).', content: jsonContent(shape) };
  }
  if (doc.body) {
    out['413'] = { description: 'The body is too large.', content: jsonContent(shape) };
    out['415'] = { description: 'The body is not JSON (or form-encoded where accepted).', content: jsonContent(shape) };
  }
  if (route.apiKeyRequired || route.bodyKey) {
    out['429'] = {
      description: "The key's usage-plan rate or quota is used up; retry after `Retry-After` seconds.",
      headers: z.object({ 'retry-after': z.string().meta({ description: 'Seconds.' }) }),
      content: jsonContent(shape),
    };
  }
  if (doc.hubImport) {
    out['202'] = {
      description:
        'A Hugging Face id the registry does not hold yet: its import job, queued or importing. Poll `Location`, then repeat the request.',
      headers: z.object({
        'retry-after': z.string().meta({ description: 'Seconds.' }),
        location: z.string().meta({ description: 'The import status URL.' }),
      }),
      content: jsonContent(ImportJobView),
    };
    out['403'] = {
      description:
        'Invalid API key, or a Hugging Face id outside the stage’s import allowlist (`import_not_allowed`: the message names the setting).',
      content: jsonContent(shape),
    };
    out['422'] = {
      description:
        'The import of that Hugging Face id failed (`import_failed`): the reason, and when a request tries again (`Retry-After`).',
      headers: z.object({ 'retry-after': z.string().meta({ description: 'Seconds.' }) }),
      content: jsonContent(shape),
    };
  }
  out['500'] = {
    description: 'Internal error: the message carries the request id to quote.',
    content: jsonContent(shape),
  };
  if (route.apiKeyRequired || route.bodyKey) {
    out['503'] = {
      description: 'A model cannot be loaded right now; retry after `Retry-After` seconds.',
      headers: z.object({ 'retry-after': z.string().meta({ description: 'Seconds.' }) }),
      content: jsonContent(shape),
    };
    out['504'] = {
      description: 'The request ran out of time; send fewer or shorter texts.',
      content: jsonContent(shape),
    };
  }
  return out;
};

const operation = (route: RouteDef, doc: RouteSpec): ZodOpenApiOperationObject => {
  const examples = doc.examples?.() ?? {};
  const ok: ZodOpenApiResponsesObject['200'] = {
    description: 'OK',
    content: {
      ...jsonContent(doc.response),
      // Each event's `data:` is one chunk; the stream ends with `data: [DONE]` (the operation's description).
      ...(doc.streamChunk ? { 'text/event-stream': { schema: doc.streamChunk } } : {}),
    },
  };
  return {
    operationId: operationId(route),
    tags: [route.fn],
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...(route.apiKeyRequired || route.bodyKey ? {} : { security: [] }),
    ...(doc.query || doc.params
      ? {
          requestParams: {
            ...(doc.query ? { query: doc.query() } : {}),
            ...(doc.params ? { path: doc.params() } : {}),
          },
        }
      : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: doc.body(),
                examples,
              },
              ...(doc.form
                ? {
                    'application/x-www-form-urlencoded': { schema: doc.body() },
                    'multipart/form-data': { schema: doc.body() },
                  }
                : {}),
            },
          },
        }
      : {}),
    responses: { '200': ok, ...errorResponses(route, doc) },
  };
};

/** Parameter examples by example name, so a GET's named example is one complete request. */
const addParameterExamples = (document: OpenApiDocument, docs: ReadonlyMap<string, RouteSpec>): void => {
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of ['get', 'post'] as const) {
      const op = item[method];
      const examples = docs.get(routeKey(method.toUpperCase(), path))?.examples?.();
      if (!op?.parameters || !examples) continue;
      for (const p of op.parameters as oas31.ParameterObject[]) {
        const named = Object.entries(examples).filter(([, e]) => e.value[p.name] !== undefined);
        if (named.length) {
          p.examples = Object.fromEntries(named.map(([n, e]) => [n, { summary: e.summary, value: e.value[p.name] }]));
        }
      }
    }
  }
};

/**
 * The OpenAPI 3.1 document of the API: every route of the route table, built from the
 * same zod schemas the handlers validate with (the route specs) (limits from the current configuration).
 * Served by the local API at `/openapi.json`; `npm run build` writes it to
 * `dist/openapi.json` and `docs/openapi.json` for API Gateway import or a client generator.
 *
 * @example
 * openApiDocument().paths?.['/v1/predict']?.post?.operationId; // => 'postV1Predict'
 */
export const openApiDocument = (routes: readonly RouteDef[] = ROUTES): OpenApiDocument => {
  const docs = routeSpecs();
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const key = routeKey(route.method, route.path);
    const doc = docs.get(key);
    if (!doc) throw new Error(`${key} has no route spec: add it to functions/${route.fn}/routes.ts.`);
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route, doc) };
  }
  const document = createDocument({
    openapi: '3.1.0',
    info: { title: 'hf-serve', version: pkg.version, description: description() },
    tags: tags(),
    // Either scheme: the gateway reads the key from `Authorization: Bearer` or `x-api-key`.
    security: [{ bearer: [] }, { apiKey: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The API key as a Bearer token (OpenAI clients).' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
    },
    paths,
  });
  addParameterExamples(document, docs);
  return document;
};

/** The document as the build writes it (`dist/openapi.json`, `docs/openapi.json`). */
export const openApiJson = (): string => `${JSON.stringify(openApiDocument(), null, 2)}\n`;
