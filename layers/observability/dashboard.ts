import { AWS_NAMESPACES, COLD_START_FUNCTION_DIMENSION, MetricName } from './names.ts';

export { COLD_START_FUNCTION_DIMENSION };

/**
 * The CloudWatch dashboard as data. `infra/lib/constructs/observability.ts` draws these
 * panels with CDK; the local metrics view (`/metrics-view`, `local/metrics.ts`) draws the
 * same panels from the EMF lines the handlers print and the invocation records the
 * emulator keeps in place of Lambda's and API Gateway's own metrics, so a panel shows
 * the same metric, dimensions and statistic in both.
 */

export type Statistic = 'Sum' | 'Average' | 'Maximum' | 'p50' | 'p95' | 'p99';

/** A route as API Gateway's per-method metrics name it (`Method`, `Resource` dimensions). */
export interface RouteRef {
  method: string;
  path: string;
}

type AppMetric = (typeof MetricName)[keyof typeof MetricName];
type LambdaMetric = 'Invocations' | 'Errors' | 'Throttles' | 'Duration';
type ApiMetric = 'Count' | '4XXError' | '5XXError' | 'Latency';

export type MetricRef =
  /** The functions' Powertools metrics: the stage's namespace, dimension `service` (and `function_name` for ColdStart). */
  | { source: 'app'; name: AppMetric; statistic: Statistic }
  /** Lambda's own metrics (`AWS/Lambda`, dimension `FunctionName`). */
  | { source: 'lambda'; name: LambdaMetric; statistic: Statistic }
  /** API Gateway's metrics (`AWS/ApiGateway`): the whole API (`ApiName`), or one route with `route`. */
  | { source: 'api'; name: ApiMetric; statistic: Statistic; route?: RouteRef }
  /** `100 × part / (part + rest)` over two app metrics' sums per period: a rate in percent (a math expression in CloudWatch). */
  | { source: 'ratio'; name: string; statistic: 'Sum'; part: AppMetric; rest: AppMetric };

export interface Panel {
  /** Stable id: the local view's element ids and the tests name panels by it. */
  id: string;
  title: string;
  left: MetricRef[];
  right: MetricRef[];
}

export const LAMBDA_NAMESPACE = AWS_NAMESPACES.lambda;
export const API_NAMESPACE = AWS_NAMESPACES.api;

const app = (name: AppMetric, statistic: Statistic): MetricRef => ({ source: 'app', name, statistic });
const lambda = (name: LambdaMetric, statistic: Statistic): MetricRef => ({ source: 'lambda', name, statistic });
const api = (name: ApiMetric, statistic: Statistic, route?: RouteRef): MetricRef => ({
  source: 'api',
  name,
  statistic,
  ...(route ? { route } : {}),
});

/** Functions that generate text publish tokens per second and time to first token. */
const GENERATES_TEXT = new Set(['completions']);
/** Functions whose answers go through a result cache publish its hits and misses. */
const CACHES_RESULTS = new Set(['predict', 'translate', 'detect']);

/** The result cache's hit rate in percent: CacheHits / (CacheHits + CacheMisses). */
export const CACHE_HIT_RATE: MetricRef = {
  source: 'ratio',
  name: 'CacheHitRate',
  statistic: 'Sum',
  part: MetricName.CacheHits,
  rest: MetricName.CacheMisses,
};

/**
 * The panels drawn for each function that serves routes.
 *
 * @example
 * functionPanels('predict').map((p) => p.id); // => ['predict-invocations', 'predict-duration', 'predict-model']
 */
export const functionPanels = (fn: string): Panel[] => [
  {
    id: `${fn}-invocations`,
    title: `${fn}: invocations, errors, throttles`,
    left: [lambda('Invocations', 'Sum'), lambda('Errors', 'Sum')],
    right: [lambda('Throttles', 'Sum')],
  },
  {
    id: `${fn}-duration`,
    title: `${fn}: duration p50/p95/p99 (ms)`,
    left: (['p50', 'p95', 'p99'] as const).map((s) => lambda('Duration', s)),
    right: [],
  },
  {
    id: `${fn}-model`,
    title: `${fn}: cold starts, model load, inference (ms)`,
    left: [app(MetricName.ColdStart, 'Sum')],
    right: [app(MetricName.ModelLoadMs, 'p95'), app(MetricName.InferenceMs, 'p50'), app(MetricName.InferenceMs, 'p95')],
  },
  ...(GENERATES_TEXT.has(fn)
    ? [
        {
          id: `${fn}-tokens`,
          title: `${fn}: tokens per second, time to first token (ms)`,
          left: [app(MetricName.TokensPerSecond, 'p50')],
          right: [app(MetricName.TimeToFirstTokenMs, 'p50'), app(MetricName.TimeToFirstTokenMs, 'p95')],
        },
      ]
    : []),
  ...(CACHES_RESULTS.has(fn)
    ? [
        {
          id: `${fn}-cache`,
          title: `${fn}: result cache hits and misses (texts), hit rate (%)`,
          left: [app(MetricName.CacheHits, 'Sum'), app(MetricName.CacheMisses, 'Sum')],
          right: [CACHE_HIT_RATE],
        },
      ]
    : []),
];

/** The panels of the whole API, and of each route (API Gateway's per-method metrics are on). */
export const apiPanels = (routes: readonly RouteRef[]): Panel[] => [
  {
    id: 'api-requests',
    title: 'API: requests, 4xx, 5xx',
    left: [api('Count', 'Sum'), api('4XXError', 'Sum'), api('5XXError', 'Sum')],
    right: [],
  },
  {
    id: 'api-route-errors',
    title: 'API: 4xx (left) and 5xx (right) per route',
    left: routes.map((r) => api('4XXError', 'Sum', r)),
    right: routes.map((r) => api('5XXError', 'Sum', r)),
  },
  {
    id: 'api-route-latency',
    title: 'API: latency p95 per route (ms)',
    left: routes.map((r) => api('Latency', 'p95', r)),
    right: [],
  },
];

/** A series' legend: `Duration p95`, `POST /v1/predict 4XXError`. */
export const metricLabel = (m: MetricRef): string =>
  m.source === 'ratio'
    ? `${m.name} %`
    : `${m.source === 'api' && m.route ? `${m.route.method} ${m.route.path} ` : ''}${m.name} ${m.statistic}`;
