import type { JSONObject } from '@aws-lambda-powertools/commons/types';
import { search } from '@aws-lambda-powertools/jmespath';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { config } from '#runtime/config.ts';

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
  correlationIdSearchFn: (expression: string, data: unknown) => search(expression, data as JSONObject),
});

export const metrics = new Metrics({
  namespace: config().METRICS_NAMESPACE,
  serviceName: config().SERVICE_NAME,
  // Its diagnostics (e.g. "no metrics to publish" on /health) go through our logger and level.
  logger,
});

export { MetricName } from './names.ts';
export { MetricUnit };

/**
 * Adds a count under one low-cardinality dimension (a label, a language, a language
 * pair) without touching the dimensions of the request's other metrics.
 */
export const countBy = (name: string, dimension: string, value: string, count = 1): void => {
  const single = metrics.singleMetric();
  single.addDimension(dimension, value);
  single.addMetric(name, MetricUnit.Count, count);
};
