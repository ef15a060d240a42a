/**
 * The one route table. The local API Gateway emulator (`local/`) and the CDK REST API
 * (`infra/`) are both built from it, so a route cannot exist in one and not the other.
 *
 * `path` uses API Gateway's resource syntax (`/v1/models/{id}`); `fn` names the
 * capability whose Lambda function serves it (one function per capability, routing
 * inside the handler with @middy/http-router).
 */
export const CAPABILITIES = ['predict', 'detect', 'translate', 'completions'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export type HttpMethod = 'GET' | 'POST';

export interface RouteDef {
  method: HttpMethod;
  path: string;
  fn: Capability;
  /** false only for the health check: every other route needs `x-api-key`. */
  apiKeyRequired: boolean;
  /** Served through Lambda response streaming (SSE) when the request asks for it. */
  streaming?: boolean;
  /** Error shape used by this route: OpenAI routes answer in OpenAI's error format. */
  errorShape?: 'default' | 'openai';
}

const route = (method: HttpMethod, path: string, fn: Capability, extra: Partial<RouteDef> = {}): RouteDef => ({
  method,
  path,
  fn,
  apiKeyRequired: true,
  ...extra,
});

export const ROUTES: readonly RouteDef[] = [
  route('GET', '/health', 'predict', { apiKeyRequired: false }),
  route('GET', '/v1/status', 'predict'),
  route('POST', '/v1/predict', 'predict'),
  route('POST', '/v1/predict/batch', 'predict'),
  route('POST', '/v1/predict/compare', 'predict'),
  route('GET', '/v1/analytics/summary', 'predict'),
  route('GET', '/v1/analytics/timeseries', 'predict'),
  route('GET', '/v1/models', 'completions', { streaming: true, errorShape: 'openai' }),
  route('GET', '/v1/models/{id}', 'completions', { streaming: true, errorShape: 'openai' }),
  route('POST', '/v1/completions', 'completions', { streaming: true, errorShape: 'openai' }),
  route('POST', '/v1/chat/completions', 'completions', { streaming: true, errorShape: 'openai' }),
  route('POST', '/v1/detect', 'detect'),
  route('POST', '/detect', 'detect'),
  route('POST', '/v1/translate', 'translate'),
  route('GET', '/v1/languages', 'translate'),
  route('POST', '/translate', 'translate'),
  route('GET', '/languages', 'translate'),
];

/** Routes served by one capability's function. */
export const routesOf = (fn: Capability): RouteDef[] => ROUTES.filter((r) => r.fn === fn);
