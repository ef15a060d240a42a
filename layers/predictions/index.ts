import type { APIGatewayEventRequestContext } from 'aws-lambda';
import { dataLogger, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { config } from '#runtime/config.ts';
import { pendingCacheWrites } from './cache.ts';
import { makeDocumentClient, REQUEST_PATH_CLIENT, requestPathBreaker } from './client.ts';
import { hashApiKeyId, PredictionLog, type PredictionRecord, sha256Hex } from './log.ts';

export { PredictionLog, type PredictionRecord } from './log.ts';

let shared: PredictionLog | undefined;
/** The process-wide prediction log, built from the configuration on first use. */
export const predictionLog = (): PredictionLog => {
  const c = config();
  shared ??= new PredictionLog({
    client: makeDocumentClient(c, REQUEST_PATH_CLIENT),
    table: c.PREDICTIONS_TABLE,
    ttlDays: c.PREDICTION_TTL_DAYS,
    logger: dataLogger,
    breaker: requestPathBreaker,
    onFallback: (count) => metrics.addMetric(MetricName.PredictionLogFallback, MetricUnit.Count, count),
    companions: pendingCacheWrites,
  });
  return shared;
};

/** What every record of one request shares: who asked, when, under which request id. */
export const requestFields = (
  requestContext: Pick<APIGatewayEventRequestContext, 'requestId' | 'identity'>,
): Pick<PredictionRecord, 'requestId' | 'timestamp' | 'apiKeyIdHash'> => ({
  requestId: requestContext.requestId,
  timestamp: new Date().toISOString(),
  apiKeyIdHash: hashApiKeyId(requestContext.identity?.apiKeyId),
});

/** The input as the log keeps it: hash and length, and the text itself only if the stage opts in. */
export const inputFields = (text: string): Pick<PredictionRecord, 'inputHash' | 'inputLength' | 'input'> => ({
  inputHash: sha256Hex(text),
  inputLength: text.length,
  ...(config().STORE_RAW_INPUTS ? { input: text } : {}),
});
