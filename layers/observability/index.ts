import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricsOptions } from '@aws-lambda-powertools/metrics/types';
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

/** What every single-metric line of a Metrics object starts from: its namespace and default dimensions. */
interface SingleMetricHead {
  namespace: string;
  defaults: Record<string, string>;
  keys: string[];
}

/**
 * Powertools' Metrics, plus `printCount`: one count under one dimension printed at once,
 * the line `singleMetric()` → `addDimension` → `addMetric` prints, byte for byte (the
 * namespace and default dimensions read once from Powertools' own serialisation, the same
 * console, nothing printed when metrics are disabled, the same warning and line for an
 * empty dimension value). That path validates, builds dimension sets, checks key
 * collisions and clears three stores for every line: tens of microseconds a distinct
 * value on each request (docs/prediction-log.md). test/unit/layers/observability/index.test.ts
 * compares the two lines.
 */
export class CountingMetrics extends Metrics {
  readonly #warn: (message: string) => void;
  #head: SingleMetricHead | undefined;

  constructor(options: MetricsOptions = {}) {
    super(options);
    const warnTo = options.logger ?? console;
    this.#warn = (message) => warnTo.warn(message);
  }

  /**
   * Prints `count` of metric `name` (unit Count) under `dimension` = `value` and the
   * default dimensions, as one EMF line, now; the object's stored metrics, dimensions and
   * metadata are neither used nor touched. Default dimensions set after the first call
   * are not seen (this module sets them once, at construction).
   *
   * @example
   * metrics.printCount('Detections', 'language', 'fr', 2);
   * // prints {"_aws":{"Timestamp":…,"CloudWatchMetrics":[{"Namespace":"HfServe","Dimensions":[["service","language"]],
   * //   "Metrics":[{"Name":"Detections","Unit":"Count"}]}]},"service":"hf-serve","language":"fr","Detections":2}
   */
  printCount(name: string, dimension: string, value: string, count: number, timestamp: number = Date.now()): void {
    if (this.isDisabled()) return;
    this.#head ??= headOf(this.singleMetric().serializeMetrics());
    const head = this.#head;
    const valid = typeof value === 'string' && value.trim().length > 0;
    if (!valid) {
      this.#warn(
        `The dimension ${dimension} doesn't meet the requirements and won't be added. Ensure the dimension name and value are non empty strings`,
      );
    }
    const keys = !valid || head.keys.includes(dimension) ? head.keys : [...head.keys, dimension];
    const line = JSON.stringify({
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: head.namespace,
            Dimensions: keys.length ? [keys] : [],
            Metrics: [{ Name: name, Unit: 'Count' }],
          },
        ],
      },
      ...head.defaults,
      ...(valid ? { [dimension]: value } : {}),
      [name]: count,
    });
    // Powertools' own console (its field is private in the types only): the same stream as its lines.
    (this as unknown as { console: Pick<Console, 'log'> }).console.log(line);
  }
}

/** The namespace and default dimensions of an empty single-metric document. */
const headOf = (doc: ReturnType<Metrics['serializeMetrics']>): SingleMetricHead => {
  const { _aws, ...defaults } = doc as unknown as {
    _aws: { CloudWatchMetrics: Array<{ Namespace: string }> };
  } & Record<string, string>;
  return { namespace: _aws.CloudWatchMetrics[0]!.Namespace, defaults, keys: Object.keys(defaults) };
};

export const metrics = new CountingMetrics({
  namespace: config().METRICS_NAMESPACE,
  serviceName: config().SERVICE_NAME,
  // Its diagnostics (e.g. "no metrics to publish" on /health) go through our logger and level.
  logger,
});

import { APP_METRICS, type AppMetricName, SERVICE_DIMENSION } from './names.ts';

export { MetricName } from './names.ts';
export { MetricUnit };

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
  for (const [value, count] of counts) metrics.printCount(name, dimension, value, count);
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
