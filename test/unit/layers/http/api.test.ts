import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { preflightHeaders } from '#functions/gateway-responses.ts';
import { CORS_ALLOW_HEADERS } from '#http/cors.ts';
import { lambdaContext, proxyEvent } from '#local/events.ts';
import type { ProxyHandler } from '#local/server.ts';
import { startDynalite } from '#local/stack.ts';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { loadConfig, setConfig } from '#runtime/config.ts';
import { tempDir } from '../../../helpers/bundles.ts';

/**
 * The Middy stack of layers/http/api.ts on real requests through the predict function
 * (a 4xx, an unknown route, /health, /v1/status, a prediction) with logging at INFO and
 * metrics on, everything the process writes to stdout and stderr captured: not one
 * warning line (Powertools drops a reserved log key with a warning; its metrics warn
 * on every route that records none), no empty header, and the metrics that exist are
 * still published.
 */
vi.hoisted(() => {
  // Read by Powertools Metrics when the handler module creates it.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

type Db = Awaited<ReturnType<typeof startDynalite>>;
const SETUP_TIMEOUT_MS = 60_000;

describe('httpApi on real requests, logging at INFO', () => {
  let db: Db;
  let handler: ProxyHandler;
  const written: string[] = [];
  const answers: Array<{ route: string; result: APIGatewayProxyResult; requestId: string }> = [];

  const invoke = async (method: string, resource: string, body?: unknown) => {
    const event = proxyEvent({
      method,
      resource,
      path: resource,
      pathParameters: null,
      headers: { 'content-type': 'application/json', origin: 'https://app.example' },
      query: new URLSearchParams(),
      body: body === undefined ? null : JSON.stringify(body),
    });
    const result = await handler(event, lambdaContext('api-test', 20_000));
    answers.push({ route: `${method} ${resource}`, result, requestId: event.requestContext.requestId });
  };

  beforeAll(async () => {
    // Prepare
    db = await startDynalite('memory');
    const config = loadConfig({
      ...process.env,
      LOG_LEVEL: 'INFO',
      DYNAMODB_ENDPOINT: db.endpoint,
      MODEL_CACHE_DIR: await tempDir('api-test-cache'),
    });
    setConfig(config);
    await ensureLocalTables(makeDocumentClient(config), config);
    ({ handler } = (await import('#functions/predict/handler.ts')) as { handler: ProxyHandler });

    // Act: everything the requests make the process write, and nothing reaches the terminal.
    const capture = (chunk: unknown): boolean => {
      written.push(String(chunk));
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      await invoke('GET', '/health');
      await invoke('POST', '/v1/predict', { text: '' });
      await invoke('GET', '/v1/nothing-here');
      await invoke('POST', '/v1/predict', { text: 'I love this product' });
      await invoke('GET', '/v1/status');
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await db?.close();
  });

  const lines = () =>
    written
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '');

  it('answers each request as it should', () => {
    expect(answers.map((a) => [a.route, a.result.statusCode])).toEqual([
      ['GET /health', 200],
      ['POST /v1/predict', 400],
      ['GET /v1/nothing-here', 404],
      ['POST /v1/predict', 200],
      ['GET /v1/status', 200],
    ]);
  });

  it('writes no warning line at all', () => {
    const warnings = lines().filter((l) => /"level":"WARN"|warn/i.test(l));

    expect(lines().length).toBeGreaterThan(3);
    expect(warnings).toEqual([]);
  });

  it("logs a client error's message under `reason`, where Powertools keeps it", () => {
    const clientErrors = lines()
      .filter((l) => l.includes('"client error"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

    expect(clientErrors).toHaveLength(2);
    expect(clientErrors[0]).toMatchObject({ level: 'INFO', status: 400, code: 'validation_error' });
    expect(clientErrors[0]?.reason).toMatch(/^text: must not be empty/);
  });

  it("tags each request's log lines with its own API Gateway request id", () => {
    const clientErrors = lines()
      .filter((l) => l.includes('"client error"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const failing = answers.filter((a) => a.result.statusCode >= 400).map((a) => a.requestId);

    expect(clientErrors.map((l) => l.correlation_id)).toEqual(failing);
    expect(new Set(failing).size).toBe(2);
  });

  it('still publishes the metrics a request recorded', () => {
    const emf = lines().filter((l) => l.startsWith('{"_aws"'));

    expect(emf.some((l) => l.includes('"InferenceMs"'))).toBe(true);
  });

  it('sends no header without a value, and allows the same request headers as the preflight', () => {
    for (const { route, result } of answers) {
      const headers = Object.entries(result.headers ?? {});
      expect(
        headers.filter(([, v]) => String(v) === ''),
        route,
      ).toEqual([]);
      const allowed = headers.find(([k]) => k.toLowerCase() === 'access-control-allow-headers')?.[1];
      expect(String(allowed).toLowerCase().split(','), route).toEqual(CORS_ALLOW_HEADERS.map((h) => h.toLowerCase()));
    }
  });

  it('preflights exactly the headers the routes allow, Authorization (OpenAI clients) included', () => {
    const preflight = preflightHeaders(['*'], 'https://app.example')['access-control-allow-headers'];
    const route = Object.entries(answers[0]?.result.headers ?? {}).find(
      ([k]) => k.toLowerCase() === 'access-control-allow-headers',
    )?.[1];

    expect(String(preflight).toLowerCase()).toBe(String(route).toLowerCase());
    expect(String(preflight).toLowerCase().split(',')).toContain('authorization');
  });
});
