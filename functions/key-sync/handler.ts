import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import middy from '@middy/core';
import { syncKeyMirror } from '#http/key-mirror.ts';
import { listApiGatewayKeysWithPlans } from '#http/key-source.ts';
import { logger, metrics } from '#observability/index.ts';
import { makeDocumentClient } from '#predictions/client.ts';
import { config } from '#runtime/config.ts';

/**
 * The key-sync function (`infra/lib/constructs/key-sync.ts`), run by an EventBridge schedule:
 * lists API Gateway's keys and the usage plans of this stack's API (`REST_API_ID`; outside the
 * VPC, like the authorizer) and makes the
 * DynamoDB mirror that the body-keyed routes' functions check keys against equal to them
 * (`syncKeyMirror`: new keys put, changed ones rewritten, removed ones deleted). A failed
 * listing throws before anything is written: the mirror keeps the last good sync.
 */
const apiGateway = new APIGatewayClient({});
const table = makeDocumentClient(config());

const sync = async () => {
  const { API_KEYS_TABLE, REST_API_ID } = config();
  const keys = await listApiGatewayKeysWithPlans(apiGateway, REST_API_ID === undefined ? {} : { apiId: REST_API_ID });
  const result = await syncKeyMirror(table, API_KEYS_TABLE, keys);
  logger.info('API keys mirrored', { ...result });
  return result;
};

export const handler = middy(sync).use(injectLambdaContext(logger)).use(logMetrics(metrics));
