import type { JSONObject } from '@aws-lambda-powertools/commons/types';
import { search } from '@aws-lambda-powertools/jmespath';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { config } from '#runtime/config.ts';

/** A JMESPath expression that is only field names joined by dots (`requestContext.requestId`). */
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * JMESPath search as the logger's correlation id lookup uses it, once per request. A plain
 * field path (every path of Powertools' `correlationPaths` for API Gateway) is walked
 * directly, with JMESPath's result (null where a field is missing or not an object's):
 * Powertools' `search` builds a tree interpreter and introspects its function table on
 * every call, the largest single item of the request path's middleware in a CPU profile.
 * Any other expression goes to `search`.
 *
 * @example
 * searchJmesPath('requestContext.requestId', { requestContext: { requestId: 'r-1' } }); // => 'r-1'
 * searchJmesPath('headers."x-id"', { headers: { 'x-id': 'a' } }); // => 'a' (through search)
 */
export const searchJmesPath = (expression: string, data: unknown): unknown => {
  if (!FIELD_PATH.test(expression)) return search(expression, data as JSONObject);
  let value = data;
  for (const field of expression.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    value = Object.hasOwn(value, field) ? (value as Record<string, unknown>)[field] : null;
  }
  return value ?? null;
};

/**
 * One logger and one metrics object for the whole process (Powertools' own pattern):
 * every handler and layer imports these, so service name, namespace and the
 * correlation id are the same on every line. High-cardinality values (request ids,
 * model refs) go in log keys or metric metadata, never in dimensions.
 */
export const logger = new Logger({
  serviceName: config().SERVICE_NAME,
  logLevel: config().LOG_LEVEL,
  // The correlation id (API Gateway's request id) is found with JMESPath.
  correlationIdSearchFn: searchJmesPath,
});

/**
 * For lines that carry data rather than diagnostics (a prediction record DynamoDB refused:
 * the line is the record's only copy). `LOG_LEVEL` must not drop them, so each goes
 * through a child logger that logs errors whatever the configured level; a child per line
 * carries the current invocation's context, which one made at init would not have.
 */
export const dataLogger: Pick<Logger, 'error'> = {
  error: (message, ...extra) => logger.createChild({ logLevel: 'ERROR' }).error(message, ...extra),
};

export const metrics = new Metrics({
  namespace: config().METRICS_NAMESPACE,
  serviceName: config().SERVICE_NAME,
  // Its diagnostics (e.g. "no metrics to publish" on /health) go through our logger and level.
  logger,
});

import { APP_METRICS, type AppMetricName, SERVICE_DIMENSION } from './names.ts';

export { MetricName } from './names.ts';
export { MetricUnit };

/** The single-metric emitter, made once (each `new Metrics` reads the environment). */
let single: Metrics | undefined;

/**
 * Counts values under the metric's one low-cardinality dimension besides `service` (a
 * label, a language, a language pair; declared in `APP_METRICS`) without touching the
 * dimensions of the request's other metrics: one EMF line per distinct value with its
 * count, not one per item (a batch of 64 labels is two lines).
 *
 * @example
 * countEach(MetricName.Predictions, ['POSITIVE', 'NEGATIVE', 'POSITIVE']);
 * // => two lines: {label: 'POSITIVE', Predictions: 2} and {label: 'NEGATIVE', Predictions: 1}
 */
export const countEach = (name: AppMetricName, values: Iterable<string>): void => {
  const dimension = APP_METRICS[name].dimensions.find((d) => d !== SERVICE_DIMENSION);
  if (!dimension) throw new Error(`${name} is declared without a dimension to count by (APP_METRICS)`);
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  for (const [value, count] of counts) {
    single ??= metrics.singleMetric();
    // A single metric publishes at once and then forgets its dimensions: set it each time.
    single.addDimension(dimension, value);
    single.addMetric(name, MetricUnit.Count, count);
  }
};

/**
 * Publishes what this invocation stored, now: for work that ends after the handler has
 * returned (a streamed response is produced while the runtime reads it, after the
 * middlewares ran), so its metrics go out with its own invocation, not the next one's.
 * Nothing stored, nothing printed.
 *
 * @example
 * sseStream(async (send) => { try { … } finally { flushMetrics(); } }, onError);
 */
export const flushMetrics = (): void => {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
};
