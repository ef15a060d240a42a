import { PassThrough, type Writable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import { lambdaContext } from '#local/events.ts';
import { STREAMING } from '#local/lambda-shim.ts';
import { emfTee, instrumentHandler, MetricsCollector, samplesOfEmf, statisticOf } from '#local/metrics.ts';
import { PAGE_PATHS } from '#local/pages.ts';
import { apiPanels, functionPanels } from '#observability/dashboard.ts';

const NAMESPACE = 'HfServe';
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const emf = (at: number, metrics: Record<string, number | number[]>, dims: Record<string, string> = {}) => ({
  _aws: {
    Timestamp: at,
    CloudWatchMetrics: [
      {
        Namespace: NAMESPACE,
        Dimensions: [['service', ...Object.keys(dims)]],
        Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Milliseconds' })),
      },
    ],
  },
  service: 'hf-serve',
  ...dims,
  ...metrics,
});
const seriesOf = (c: MetricsCollector, panel: string, label: string, periodSeconds = 60) =>
  c
    .view({ routes: ROUTES, appNamespace: NAMESPACE, periodSeconds, from: T0, to: T0 + 120_000 })
    .panels.find((p) => p.id === panel)
    ?.series.find((s) => s.label === label);

describe('local metrics', () => {
  it('keeps at most a tenth over its capacity, the newest samples', () => {
    const c = new MetricsCollector(100);
    for (let i = 0; i < 1000; i++) c.addLine(JSON.stringify(emf(T0 + i, { InferenceMs: i })), 'predict');

    expect(c.size).toBeLessThanOrEqual(110);
    expect(c.size).toBeGreaterThanOrEqual(100);
    const view = c.view({ routes: ROUTES, appNamespace: NAMESPACE, periodSeconds: 60, from: T0, to: T0 + 120_000 });
    const p50 = view.panels
      .find((p) => p.id === 'predict-model')
      ?.series.find((s) => s.metric.name === 'InferenceMs' && s.metric.statistic === 'p50');
    // The kept samples are the newest: values 890..999, never the first ones.
    expect(p50?.value).toBeGreaterThan(890);
  });

  it('computes CloudWatch statistics: sums, averages, nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);

    expect(statisticOf(values, 'Sum')).toBe(5050);
    expect(statisticOf(values, 'Average')).toBe(50.5);
    expect(statisticOf(values, 'Maximum')).toBe(100);
    expect(statisticOf(values, 'p50')).toBe(50);
    expect(statisticOf(values, 'p95')).toBe(95);
    expect(statisticOf([7], 'p99')).toBe(7);
    expect(statisticOf([], 'Sum')).toBeNull();
  });

  it('reads every metric and dimension of an EMF document, arrays included', () => {
    const [sample] = samplesOfEmf(emf(T0, { InferenceMs: [3, 5], ModelLoadMs: 80 }, { label: 'POSITIVE' }), 'predict');

    expect(sample).toEqual({
      at: T0,
      fn: 'predict',
      origin: 'emf',
      namespace: NAMESPACE,
      dimensions: { service: 'hf-serve', label: 'POSITIVE' },
      values: { InferenceMs: [3, 5], ModelLoadMs: [80] },
    });
  });

  it("draws each function's panels from its own samples, bucketed by period", () => {
    const c = new MetricsCollector();
    c.addLine(JSON.stringify(emf(T0 + 1_000, { InferenceMs: 10 })), 'detect');
    c.addLine(JSON.stringify(emf(T0 + 2_000, { InferenceMs: 30 })), 'detect');
    c.addLine(JSON.stringify(emf(T0 + 61_000, { InferenceMs: 50 })), 'detect');
    c.addLine(JSON.stringify(emf(T0 + 1_000, { InferenceMs: 999 })), 'translate');

    const p50 = seriesOf(c, 'detect-model', 'InferenceMs p50');

    expect(p50?.points).toEqual([
      [T0, 10],
      [T0 + 60_000, 50],
    ]);
    expect(p50?.value).toBe(30);
    expect(p50?.axis).toBe('right');
  });

  it('lengthens the period rather than draw more than 720 points a line', () => {
    const view = new MetricsCollector().view({
      routes: ROUTES,
      appNamespace: NAMESPACE,
      periodSeconds: 1,
      from: T0,
      to: T0 + 86_400_000,
    });

    expect(view.periodSeconds).toBe(120);
    expect(view.panels[0]?.series[0]?.points).toHaveLength(720);
  });

  it('counts a request per route and for the whole API, as API Gateway publishes both', () => {
    const c = new MetricsCollector();
    const request = (method: string, path: string | undefined, status: number) =>
      c.add({
        at: T0 + 5_000,
        origin: 'emulator',
        namespace: 'AWS/ApiGateway',
        dimensions: { ApiName: 'local', Stage: 'local', ...(path ? { Method: method, Resource: path } : {}) },
        values: {
          Count: [1],
          '4XXError': [status >= 400 && status < 500 ? 1 : 0],
          '5XXError': [status >= 500 ? 1 : 0],
        },
      });
    request('POST', '/v1/predict', 400);
    request('POST', '/v1/predict', 200);
    request('POST', '/v1/detect', 403);
    request('GET', undefined, 404);

    expect(seriesOf(c, 'api-requests', 'Count Sum')?.value).toBe(4);
    expect(seriesOf(c, 'api-requests', '4XXError Sum')?.value).toBe(3);
    expect(seriesOf(c, 'api-route-errors', 'POST /v1/predict 4XXError Sum')?.value).toBe(1);
    expect(seriesOf(c, 'api-route-errors', 'POST /v1/detect 4XXError Sum')?.value).toBe(1);
    expect(seriesOf(c, 'api-route-errors', 'GET /v1/models 4XXError Sum')?.value).toBeNull();
  });

  it('draws exactly the panels of the shared dashboard spec', () => {
    const view = new MetricsCollector().view({
      routes: ROUTES,
      appNamespace: NAMESPACE,
      periodSeconds: 60,
      from: T0,
      to: T0 + 1,
    });
    const fns = [...new Set(ROUTES.map((r) => r.fn))];

    expect(view.panels.map((p) => p.id)).toEqual([
      ...fns.flatMap((fn) => functionPanels(fn).map((p) => p.id)),
      ...apiPanels(ROUTES).map((p) => p.id),
    ]);
  });

  it('records an invocation as Lambda would, a cold start only on the first, and keeps a streaming handler streaming', async () => {
    const c = new MetricsCollector();
    const streaming = Object.assign(
      async (_event: APIGatewayProxyEvent, stream: Writable, _context: Context): Promise<void> => void stream.end(),
      { [STREAMING]: true as const },
    );
    const failing = async (_event: APIGatewayProxyEvent, _context: Context): Promise<APIGatewayProxyResult> => {
      throw new Error('boom');
    };
    const app = { namespace: NAMESPACE, service: 'hf-serve' };
    const wrapped = instrumentHandler('completions', streaming, c, app);
    const broken = instrumentHandler('detect', failing, c, app);

    await wrapped({} as never, new PassThrough(), lambdaContext('local-completions', 1000));
    await wrapped({} as never, new PassThrough(), lambdaContext('local-completions', 1000));
    await expect(broken({} as never, lambdaContext('local-detect', 1000))).rejects.toThrow('boom');

    const now = Date.now();
    const view = c.view({
      routes: ROUTES,
      appNamespace: NAMESPACE,
      periodSeconds: 60,
      from: now - 60_000,
      to: now + 1,
    });
    const value = (panel: string, label: string) =>
      view.panels.find((p) => p.id === panel)?.series.find((s) => s.label === label)?.value;
    expect(STREAMING in wrapped).toBe(true);
    expect(value('completions-invocations', 'Invocations Sum')).toBe(2);
    expect(value('completions-model', 'ColdStart Sum')).toBe(1);
    expect(value('detect-invocations', 'Errors Sum')).toBe(1);
    expect(value('completions-duration', 'Duration p50')).toBeGreaterThanOrEqual(0);
  });

  it('takes EMF lines at once and parses them when read, dropping one that is not EMF', () => {
    const c = new MetricsCollector();

    const taken = [
      c.addLine(JSON.stringify(emf(T0 + 1_000, { InferenceMs: 7 })), 'detect'),
      c.addLine('{"CloudWatchMetrics": "not an EMF document"}', 'detect'),
      c.addLine('{"_aws": {"CloudWatchMetrics": [ cut', 'detect'),
      c.addLine('a log line naming "CloudWatchMetrics"', 'detect'),
    ];

    expect(taken).toEqual([true, true, true, false]);
    expect(c.size).toBe(1);
    expect(seriesOf(c, 'detect-model', 'InferenceMs p50')?.value).toBe(7);
  });

  it('keeps EMF lines off stdout when echo is off, and lets every other line through', () => {
    const written: string[] = [];
    const state = { collector: new MetricsCollector(), echo: false };
    const write = emfTee((chunk) => written.push(String(chunk)) > 0, state);
    let called = false;

    write(`${JSON.stringify(emf(T0, { InferenceMs: 4 }))}\n`, () => {
      called = true;
    });
    write('a log line\n');
    state.echo = true;
    write(`${JSON.stringify(emf(T0, { InferenceMs: 5 }))}\n`);

    expect(state.collector.size).toBe(2);
    expect(called).toBe(true);
    expect(written).toEqual(['a log line\n', `${JSON.stringify(emf(T0, { InferenceMs: 5 }))}\n`]);
  });

  it('serves no page at a path of the route table', () => {
    const paths = new Set(ROUTES.map((r) => r.path));

    expect(PAGE_PATHS.filter((p) => paths.has(p))).toEqual([]);
    expect(['/openapi.json', '/metrics-view/data'].filter((p) => paths.has(p))).toEqual([]);
  });
});
