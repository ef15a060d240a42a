/**
 * Metric names the functions publish through Powertools, shared with the CloudWatch
 * dashboard in `infra/` and the local metrics view (`layers/observability/dashboard.ts`
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
