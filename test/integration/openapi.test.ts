import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { type OpenApiDocument, openApiDocument, routeSpecs } from '#functions/openapi.ts';
import { ROUTES } from '#functions/routes.ts';
import { ErrorEnvelope, LibreTranslateError, OpenAIError } from '#functions/schemas.ts';
import { routeKey } from '#functions/spec.ts';
import type { LocalStack } from '#local/stack.ts';
import { seedFailedImport } from '../helpers/hub-stand-in.ts';
import { startTestApi, TEST_KEY } from '../helpers/local-api.ts';

/**
 * The OpenAPI document against the real handlers: every documented example, sent
 * through the local API as a client would build it from the document, is accepted
 * (2xx), and every answer matches the documented response schema exactly (a field the
 * schema does not name fails, because parsing drops it). Routes without examples are
 * called plainly, so every route's response schema meets a real answer.
 */

interface Operation {
  parameters?: Array<{ in: 'query' | 'path'; name: string; examples?: Record<string, { value: unknown }> }>;
  requestBody?: { content: Record<string, { examples?: Record<string, { value: Record<string, unknown> }> }> };
}
interface Call {
  key: string;
  example: string;
  method: string;
  url: string;
  body?: string;
  contentType?: string;
  stream: boolean;
}

let api: LocalStack;
let served: OpenApiDocument;
beforeAll(async () => {
  api = await startTestApi();
  // The import the imports route's example reads.
  await seedFailedImport(api, 'Xenova/tiny-gpt2@main');
  served = (await (await fetch(`${api.url}/openapi.json`)).json()) as OpenApiDocument;
});
afterAll(() => api.close());

/** The requests a client would build from the document: one per example, or one plain call. */
const callsOf = (doc: OpenApiDocument): Call[] =>
  Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    (['get', 'post'] as const).flatMap((m): Call[] => {
      const op = (item as Record<string, Operation | undefined>)[m];
      if (!op) return [];
      const method = m.toUpperCase();
      const key = routeKey(method, path);
      const bodies = op.requestBody?.content['application/json']?.examples ?? {};
      const names = new Set([
        ...Object.keys(bodies),
        ...(op.parameters ?? []).flatMap((p) => Object.keys(p.examples ?? {})),
      ]);
      const build = (example: string): Call => {
        let url = path;
        const query = new URLSearchParams();
        for (const p of op.parameters ?? []) {
          const value = p.examples?.[example]?.value;
          if (value === undefined) continue;
          if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(String(value)));
          else query.set(p.name, String(value));
        }
        const body = bodies[example]?.value;
        return {
          key,
          example,
          method,
          url: `${api.url}${url}${query.size ? `?${query}` : ''}`,
          ...(body ? { body: JSON.stringify(body), contentType: 'application/json' } : {}),
          stream: body?.stream === true,
        };
      };
      return names.size ? [...names].map(build) : [build('(none)')];
    }),
  );

const send = (call: Pick<Call, 'method' | 'url' | 'body' | 'contentType'>, key = TEST_KEY) =>
  fetch(call.url, {
    method: call.method,
    headers: { 'x-api-key': key, ...(call.contentType ? { 'content-type': call.contentType } : {}) },
    body: call.body,
  });

/** Parsing keeps only documented fields: equal to the answer means nothing is undocumented. */
const expectExactly = (schema: z.ZodType, value: unknown, where: string) => {
  const parsed = schema.safeParse(value);
  expect(parsed.error?.issues, where).toBeUndefined();
  expect(parsed.data, `${where}: fields the schema does not document`).toEqual(value);
};

const sseEvents = (text: string): string[] =>
  text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));

describe('OpenAPI document against the real handlers', () => {
  it('is what the local API serves at /openapi.json, with the server it came from', () => {
    const { servers, ...rest } = served;

    expect(servers).toEqual([{ url: api.url }]);
    expect(rest).toEqual(openApiDocument());
  });

  it('has an example or a plain call for every route of the route table', () => {
    const keys = new Set(callsOf(served).map((c) => c.key));

    expect([...keys].sort()).toEqual(ROUTES.map((r) => routeKey(r.method, r.path)).sort());
    expect(callsOf(served).filter((c) => c.example !== '(none)').length).toBeGreaterThanOrEqual(15);
  });

  it('accepts every documented example, and answers in the documented response schema', async () => {
    const docs = routeSpecs();

    for (const call of callsOf(served)) {
      const where = `${call.key} example ${call.example}`;
      const res = await send(call);
      const text = await res.text();

      expect(res.status, `${where}: ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `${where}: ${text.slice(0, 300)}`).toBeLessThan(300);
      const doc = docs.get(call.key)!;
      if (call.stream) {
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const events = sseEvents(text);
        // OpenAI's streams end with [DONE]; Text Generation Inference's (/generate) end with their last token event.
        const tgi = call.key.endsWith('/generate');
        expect(events.at(-1) === '[DONE]', where).toBe(!tgi);
        for (const event of tgi ? events : events.slice(0, -1))
          expectExactly(doc.streamChunk!, JSON.parse(event), where);
      } else {
        expectExactly(doc.response, JSON.parse(text), where);
      }
    }
  });

  it('accepts the LibreTranslate examples form-encoded too, as documented', async () => {
    const formRoutes = callsOf(served).filter((c) => routeSpecs().get(c.key)?.form);
    expect(formRoutes.map((c) => c.key).sort()).toEqual(['POST /detect', 'POST /translate', 'POST /translate']);

    for (const call of formRoutes) {
      const fields = JSON.parse(call.body!) as Record<string, string>;
      const res = await send({
        ...call,
        body: String(new URLSearchParams(fields)),
        contentType: 'application/x-www-form-urlencoded',
      });

      expect(res.status, call.key).toBe(200);
      expectExactly(routeSpecs().get(call.key)!.response, await res.json(), call.key);
    }
  });

  it('answers errors in the documented shape of each route: its function’s, or API Gateway’s envelope', async () => {
    const bad = (path: string) => ({
      method: 'POST',
      url: `${api.url}${path}`,
      body: '{}',
      contentType: 'application/json',
    });

    const invalid = await send(bad('/v1/predict'));
    const invalidOpenAi = await send(bad('/v1/chat/completions'));
    const invalidLibre = await send(bad('/translate'));
    const noKey = await send(bad('/v1/chat/completions'), 'not-a-key');

    expect([invalid.status, invalidOpenAi.status, invalidLibre.status, noKey.status]).toEqual([400, 400, 400, 403]);
    expectExactly(ErrorEnvelope, await invalid.json(), 'predict 400');
    expectExactly(OpenAIError, await invalidOpenAi.json(), 'chat 400');
    expectExactly(LibreTranslateError, await invalidLibre.json(), 'LibreTranslate 400');
    // The gateway answers in the route family's shape: OpenAI's on the OpenAI routes.
    expectExactly(OpenAIError, await noKey.json(), 'gateway 403');
  });
});
