import { readFile } from 'node:fs/promises';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { openApiDocument, openApiJson, routeSpecs } from '#functions/openapi.ts';
import { predictRequests } from '#functions/predict/schemas.ts';
import { ROUTES, type RouteDef } from '#functions/routes.ts';
import { type Config, config, loadConfig, setConfig } from '#runtime/config.ts';

/** Routes that take a query string (README's API table). */
const QUERY_ROUTES = ['/v1/analytics/summary', '/v1/analytics/timeseries'];

type Operation = {
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  security?: unknown[];
};
const operationOf = (doc: ReturnType<typeof openApiDocument>, r: RouteDef): Operation | undefined =>
  (doc.paths?.[r.path] as Record<string, Operation> | undefined)?.[r.method.toLowerCase()];

const original: Config = config();
afterEach(() => setConfig(original));

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = openApiDocument();

    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents every route of the route table with its request and response schemas', () => {
    const doc = openApiDocument();

    for (const r of ROUTES) {
      const op = operationOf(doc, r);
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op?.responses['200']?.content?.['application/json']?.schema, `${r.method} ${r.path} 200`).toBeDefined();
      if (r.method === 'POST') {
        expect(op?.requestBody?.content['application/json']?.schema, `${r.method} ${r.path} body`).toBeDefined();
      }
      if (QUERY_ROUTES.includes(r.path)) {
        expect(op?.parameters?.filter((p) => p.in === 'query').length, `${r.path} query`).toBeGreaterThan(0);
      }
      for (const name of r.path.match(/\{([^}]+)\}/g) ?? []) {
        expect(op?.parameters?.map((p) => `{${p.name}}`)).toContain(name);
      }
      if (r.apiKeyRequired || r.bodyKey) expect(op?.security).toBeUndefined();
      else expect(op?.security).toEqual([]);
    }
    expect(Object.keys(doc.paths ?? {}).sort()).toEqual([...new Set(ROUTES.map((r) => r.path))].sort());
  });

  it('names both key schemes (Bearer or x-api-key) and answers in each route’s error shape', () => {
    const doc = openApiDocument();

    expect(doc.components?.securitySchemes?.apiKey).toEqual({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    expect(doc.components?.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    const errorRef = (r: RouteDef, status: string) =>
      JSON.stringify(operationOf(doc, r)?.responses[status]?.content?.['application/json']?.schema);
    for (const r of ROUTES.filter((route) => route.method === 'POST')) {
      const shape = { openai: 'OpenAIError', libretranslate: 'LibreTranslateError', default: 'Error' }[
        r.errorShape ?? 'default'
      ];
      expect(errorRef(r, '400')).toContain(`#/components/schemas/${shape}"`);
      // API Gateway itself answers a missing or wrong key, in the route family's shape.
      for (const status of ['401', '403', '429']) {
        expect(errorRef(r, status)).toContain(`#/components/schemas/${shape}"`);
      }
    }
  });

  it('refuses a route that has no route spec, naming where to add it', () => {
    const undocumented: RouteDef = { method: 'GET', path: '/v1/undocumented', fn: 'predict', apiKeyRequired: true };

    expect(() => openApiDocument([...ROUTES, undocumented])).toThrow(
      'GET /v1/undocumented has no route spec: add it to functions/predict/routes.ts.',
    );
  });

  it('uses the schema objects the handlers validate with, built from the configured limits', () => {
    setConfig(loadConfig({ MAX_TEXT_CHARS: '120', MAX_BATCH_SIZE: '7' }));

    const doc = openApiDocument();
    const body = (path: string) =>
      (operationOf(doc, { method: 'POST', path, fn: 'predict', apiKeyRequired: true })?.requestBody?.content[
        'application/json'
      ]?.schema ?? {}) as { properties: Record<string, { maxLength?: number; maxItems?: number }> };

    expect(routeSpecs().get('POST /v1/predict')?.body?.()).toBe(predictRequests().Single);
    expect(body('/v1/predict').properties.text?.maxLength).toBe(120);
    expect(body('/v1/predict/batch').properties.texts?.maxItems).toBe(7);
  });

  it('is committed up to date in docs/openapi.json (npm run openapi rewrites it)', async () => {
    setConfig(loadConfig({}));

    const committed = await readFile(new URL('../../../docs/openapi.json', import.meta.url), 'utf8');

    expect(committed, 'docs/openapi.json is stale: run npm run openapi').toBe(openApiJson());
  });
});
