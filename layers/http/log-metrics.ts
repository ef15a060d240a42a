import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { ApiMiddleware, ApiRequest } from './types.ts';

const defaults = {
  /** Publish Powertools' ColdStart metric on the first invocation (its own EMF line). */
  captureColdStartMetric: false,
};

/**
 * Powertools' `logMetrics` middleware, except that it publishes only when the invocation
 * stored metrics. Powertools' own calls `publishStoredMetrics()` after every invocation,
 * which logs "No application metrics to publish" as a warning on each route that records
 * none (/health, every 4xx); `hasStoredMetrics()` is the public check its maintainers
 * added for this (powertools-lambda-typescript#2036). With nothing to publish, the
 * request's dimensions and metadata are still cleared, as a publish would.
 *
 * @example
 * middy(handler).use(logMetrics(metrics, { captureColdStartMetric: true }));
 */
export const logMetrics = (metrics: Metrics, opts: Partial<typeof defaults> = {}): ApiMiddleware => {
  const options = { ...defaults, ...opts };
  const logMetricsBefore = async (request: ApiRequest): Promise<void> => {
    if (options.captureColdStartMetric) metrics.captureColdStartMetric(request.context.functionName);
  };
  const logMetricsAfter = async (): Promise<void> => {
    if (metrics.hasStoredMetrics()) {
      metrics.publishStoredMetrics();
      return;
    }
    metrics.clearDimensions();
    metrics.clearMetadata();
  };
  return { before: logMetricsBefore, after: logMetricsAfter, onError: logMetricsAfter };
};
