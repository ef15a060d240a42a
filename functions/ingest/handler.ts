import { gunzipSync } from 'node:zlib';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent } from 'aws-lambda';
import { logger, metrics } from '#observability/index.ts';
import { makeRecordIngester } from '#predictions/ingest.ts';

/**
 * The prediction records ingester: the CloudWatch Logs subscription filter on each
 * capability function's log group (`infra/lib/constructs/record-ingestion.ts`) sends it
 * the records lines those functions print; it BatchWrites them to the prediction table
 * (and the result cache's items beside them). Records DynamoDB still refuses after the
 * writer's retries are printed as `predictionLogFallback` lines in this function's log
 * group, and the invocation fails, so Lambda retries the whole batch (idempotent: the same
 * keys) and then hands it to the dead-letter queue, from which it can be redriven.
 */
export const decodeLogsEvent = (event: CloudWatchLogsEvent): CloudWatchLogsDecodedData =>
  JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')) as CloudWatchLogsDecodedData;

const ingester = makeRecordIngester();

const ingest = async (event: CloudWatchLogsEvent) => {
  const data = decodeLogsEvent(event);
  // CONTROL_MESSAGE: CloudWatch checking that the destination is reachable.
  if (data.messageType !== 'DATA_MESSAGE')
    return { records: 0, refused: 0, skipped: 0, counters: 0, countersRefused: 0, modelStates: 0 };
  const result = await ingester.ingest(data.logEvents.map((e) => e.message));
  logger.info('records ingested', { logGroup: data.logGroup, ...result });
  if (result.refused > 0) {
    throw new Error(
      `${result.refused} of ${result.records} records refused by DynamoDB after retries: the batch goes again (same keys)`,
    );
  }
  return result;
};

export const handler = middy(ingest).use(injectLambdaContext(logger)).use(logMetrics(metrics));
