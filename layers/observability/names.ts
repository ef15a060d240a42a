/**
 * Metric names the functions publish through Powertools, shared with the CloudWatch
 * dashboard and alarms in `infra/` and the local metrics view (`layers/observability/dashboard.ts`
 * says which panel shows which). Its own module so that infra and the emulator can read
 * the names without creating the logger and metrics objects.
 */
export const MetricName = {
  ColdStart: 'ColdStart',
  ModelLoadMs: 'ModelLoadMs',
  InferenceMs: 'InferenceMs',
  Predictions: 'Predictions',
  PredictionLogFallback: 'PredictionLogFallback',
  Detections: 'Detections',
  CharactersTranslated: 'CharactersTranslated',
  Translations: 'Translations',
  TokensGenerated: 'TokensGenerated',
  TimeToFirstTokenMs: 'TimeToFirstTokenMs',
  TokensPerSecond: 'TokensPerSecond',
  CacheHits: 'CacheHits',
  CacheMisses: 'CacheMisses',
} as const;

export type AppMetricName = (typeof MetricName)[keyof typeof MetricName];

/** The dimension every application metric carries: Powertools' service name (one per function). */
export const SERVICE_DIMENSION = 'service';
/** The dimension Powertools adds to ColdStart only, besides `service`. */
export const COLD_START_FUNCTION_DIMENSION = 'function_name';

/**
 * Each application metric with the one dimension set it is published under, in the stage's
 * namespace: the code emits exactly these (countEach reads its dimension from here), and the
 * dashboard and alarms may only name these (test/infra checks every widget and alarm).
 * A metric counted per value (`countEach`) has the value's dimension besides `service`.
 */
export const APP_METRICS: Readonly<Record<AppMetricName, { readonly dimensions: readonly string[] }>> = {
  ColdStart: { dimensions: [SERVICE_DIMENSION, COLD_START_FUNCTION_DIMENSION] },
  ModelLoadMs: { dimensions: [SERVICE_DIMENSION] },
  InferenceMs: { dimensions: [SERVICE_DIMENSION] },
  Predictions: { dimensions: [SERVICE_DIMENSION, 'label'] },
  PredictionLogFallback: { dimensions: [SERVICE_DIMENSION] },
  Detections: { dimensions: [SERVICE_DIMENSION, 'language'] },
  CharactersTranslated: { dimensions: [SERVICE_DIMENSION] },
  Translations: { dimensions: [SERVICE_DIMENSION, 'pair'] },
  TokensGenerated: { dimensions: [SERVICE_DIMENSION] },
  TimeToFirstTokenMs: { dimensions: [SERVICE_DIMENSION] },
  TokensPerSecond: { dimensions: [SERVICE_DIMENSION] },
  CacheHits: { dimensions: [SERVICE_DIMENSION] },
  CacheMisses: { dimensions: [SERVICE_DIMENSION] },
};

/** Metrics AWS services publish, that the dashboard and alarms read. */
export const AWS_NAMESPACES = {
  lambda: 'AWS/Lambda',
  api: 'AWS/ApiGateway',
  waf: 'AWS/WAFV2',
  dynamodb: 'AWS/DynamoDB',
  sqs: 'AWS/SQS',
} as const;

/**
 * The AWS metrics the stack reads and the dimension sets each is published under (from the
 * services' CloudWatch metric documentation): a widget or alarm naming another set draws an
 * empty line or never fires.
 */
export const AWS_METRICS: Readonly<Record<string, Readonly<Record<string, readonly (readonly string[])[]>>>> = {
  [AWS_NAMESPACES.lambda]: Object.fromEntries(
    ['Invocations', 'Errors', 'Throttles', 'Duration'].map((m) => [m, [['FunctionName']]]),
  ),
  [AWS_NAMESPACES.api]: Object.fromEntries(
    ['Count', '4XXError', '5XXError', 'Latency'].map((m) => [
      m,
      [['ApiName'], ['ApiName', 'Stage'], ['ApiName', 'Method', 'Resource', 'Stage']],
    ]),
  ),
  [AWS_NAMESPACES.waf]: Object.fromEntries(
    ['AllowedRequests', 'BlockedRequests', 'CountedRequests'].map((m) => [m, [['Region', 'Rule', 'WebACL']]]),
  ),
  [AWS_NAMESPACES.dynamodb]: Object.fromEntries(
    ['ReadThrottleEvents', 'WriteThrottleEvents'].map((m) => [m, [['TableName']]]),
  ),
  [AWS_NAMESPACES.sqs]: { ApproximateNumberOfMessagesVisible: [['QueueName']] },
};
