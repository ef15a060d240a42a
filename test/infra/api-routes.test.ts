import { describe, expect, it } from 'vitest';
import { ROUTES, type RouteDef } from '#functions/routes.ts';
import { apiMethods, resourcesOf, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

/** A route table with both kinds of route on one capability each, independent of what ROUTES holds today. */
const TEST_ROUTES: readonly RouteDef[] = [
  { method: 'GET', path: '/health', fn: 'predict', apiKeyRequired: false },
  { method: 'POST', path: '/v1/predict', fn: 'predict', apiKeyRequired: true },
  { method: 'POST', path: '/v1/translate', fn: 'translate', apiKeyRequired: true },
  { method: 'POST', path: '/v1/chat/completions', fn: 'completions', apiKeyRequired: true, streaming: true },
];

type Integration = { Type: string; ResponseTransferMode?: string; TimeoutInMillis?: number; Uri: unknown };
const integrations = (routes?: readonly RouteDef[]) =>
  Object.values(resourcesOf(synthStage('prod', routes).template, 'AWS::ApiGateway::Method'))
    .map((m) => m.Properties as { HttpMethod: string; Integration: Integration })
    .filter((m) => m.HttpMethod !== 'OPTIONS' && m.Integration.Type !== 'MOCK')
    .map((m) => m.Integration);

describe('REST API generated from the route table', () => {
  it(
    'has exactly the methods of ROUTES, the table the local emulator serves',
    () => {
      const { template } = synthStage('prod');

      const methods = apiMethods(template);

      expect(methods).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'follows a different route table (the API is not listed by hand)',
    () => {
      const { template } = synthStage('prod', TEST_ROUTES);

      expect(apiMethods(template)).toEqual(TEST_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    },
    SYNTH_TIMEOUT_MS,
  );

  it('streams responses for streaming routes through the response-streaming invocation URI', () => {
    const streamed = integrations(TEST_ROUTES).filter((i) => i.ResponseTransferMode === 'STREAM');

    expect(streamed).toHaveLength(1);
    expect(JSON.stringify(streamed[0]?.Uri)).toContain('/2021-11-15/functions/');
    expect(JSON.stringify(streamed[0]?.Uri)).toContain('/response-streaming-invocations');
  });

  it('uses buffered integrations under 29 s for every other route, in ROUTES as in the test table', () => {
    for (const routes of [undefined, TEST_ROUTES]) {
      const table = routes ?? ROUTES;
      const all = integrations(routes);
      const buffered = all.filter((i) => i.ResponseTransferMode !== 'STREAM');

      expect(all).toHaveLength(table.filter((r) => !r.mock).length);
      expect(all.filter((i) => i.ResponseTransferMode === 'STREAM')).toHaveLength(
        table.filter((r) => r.streaming).length,
      );
      for (const i of buffered) {
        expect(i.Type).toBe('AWS_PROXY');
        expect(i.TimeoutInMillis).toBeLessThan(29_000);
        expect(JSON.stringify(i.Uri)).toContain('/2015-03-31/functions/');
      }
    }
  });

  it('invokes the live alias, so provisioned concurrency serves the traffic', () => {
    for (const i of integrations()) expect(JSON.stringify(i.Uri)).toMatch(/Live[0-9A-F]{8}/);
  });

  it('answers /health from API Gateway itself (MOCK), invoking no function', () => {
    const { template } = synthStage('prod');
    const health = Object.entries(resourcesOf(template, 'AWS::ApiGateway::Resource')).find(
      ([, r]) => (r.Properties as { PathPart: string }).PathPart === 'health',
    )?.[0];
    const method = Object.values(resourcesOf(template, 'AWS::ApiGateway::Method'))
      .map(
        (m) =>
          m.Properties as { HttpMethod: string; ResourceId: { Ref: string }; Integration: Record<string, unknown> },
      )
      .find((m) => m.HttpMethod === 'GET' && m.ResourceId.Ref === health);

    expect(method?.Integration.Type).toBe('MOCK');
    const [response] = (method?.Integration.IntegrationResponses ?? []) as {
      ResponseTemplates: Record<string, string>;
    }[];
    expect(JSON.parse(response?.ResponseTemplates['application/json'] ?? '')).toEqual(
      ROUTES.find((r) => r.path === '/health')?.mock?.body,
    );
    expect(JSON.stringify(method?.Integration)).not.toMatch(/lambda/i);
    expect(JSON.stringify(response)).toContain('"method.response.header.x-request-id":"context.requestId"');
  });
});
