import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '#runtime/config.ts';
import {
  API_KEYS_TABLE_KEYS,
  IMPORTS_TABLE_KEYS,
  MODEL_STATE_TABLE_KEYS,
  PREDICTIONS_TABLE_KEYS,
  RESULT_CACHE_TABLE_KEYS,
  type TableKeys,
  USAGE_TABLE_KEYS,
} from './schema.ts';

/**
 * A DynamoDB document client; with an endpoint (dynalite locally) it uses dummy credentials.
 * `tuning` overrides the SDK's retry and timeout defaults (see `REQUEST_PATH_CLIENT`).
 */
export const makeDocumentClient = (
  c: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>,
  tuning: Pick<DynamoDBClientConfig, 'maxAttempts' | 'requestHandler'> = {},
): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(
    new DynamoDBClient({
      ...tuning,
      region: c.AWS_REGION,
      ...(c.DYNAMODB_ENDPOINT
        ? { endpoint: c.DYNAMODB_ENDPOINT, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );

/**
 * Creates a table from its `schema.ts` definition when it does not exist: the local
 * emulator's twin of the CDK tables (in AWS the stack owns them).
 *
 * @example
 * await ensureTable(client, 'prediction-cache', RESULT_CACHE_TABLE_KEYS);
 */
export const ensureTable = async (client: DynamoDBDocumentClient, tableName: string, k: TableKeys): Promise<void> => {
  const exists = await client.send(new DescribeTableCommand({ TableName: tableName })).then(
    () => true,
    () => false,
  );
  if (exists) return;
  const attributes = new Set<string>([k.partitionKey, ...(k.sortKey ? [k.sortKey] : [])]);
  for (const index of k.globalSecondaryIndexes) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: k.partitionKey, KeyType: 'HASH' },
        ...(k.sortKey ? [{ AttributeName: k.sortKey, KeyType: 'RANGE' as const }] : []),
      ],
      ...(k.globalSecondaryIndexes.length > 0
        ? {
            GlobalSecondaryIndexes: k.globalSecondaryIndexes.map((index) => ({
              IndexName: index.indexName,
              KeySchema: [
                { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
              ],
              Projection: { ProjectionType: 'ALL' as const },
            })),
          }
        : {}),
    }),
  );
  // dynalite ignores TTL but accepts the call; it documents the intent and matches AWS.
  if (k.ttlAttribute === undefined) return;
  await client
    .send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: k.ttlAttribute, Enabled: true },
      }),
    )
    .catch(() => undefined);
};

/** The prediction log table (see `schema.ts`). */
export const ensurePredictionsTable = (client: DynamoDBDocumentClient, tableName: string): Promise<void> =>
  ensureTable(client, tableName, PREDICTIONS_TABLE_KEYS);

/** The shared result cache table (see `schema.ts`). */
export const ensureResultCacheTable = (client: DynamoDBDocumentClient, tableName: string): Promise<void> =>
  ensureTable(client, tableName, RESULT_CACHE_TABLE_KEYS);

/** Every table the functions use, created where missing: the local emulator's and invoke's twin of the stack. */
export const ensureLocalTables = async (
  client: DynamoDBDocumentClient,
  c: Pick<
    Config,
    | 'PREDICTIONS_TABLE'
    | 'RESULT_CACHE_TABLE'
    | 'USAGE_TABLE'
    | 'MODEL_STATE_TABLE'
    | 'API_KEYS_TABLE'
    | 'IMPORTS_TABLE'
  >,
): Promise<void> => {
  await ensurePredictionsTable(client, c.PREDICTIONS_TABLE);
  await ensureResultCacheTable(client, c.RESULT_CACHE_TABLE);
  await ensureTable(client, c.USAGE_TABLE, USAGE_TABLE_KEYS);
  await ensureTable(client, c.MODEL_STATE_TABLE, MODEL_STATE_TABLE_KEYS);
  await ensureTable(client, c.IMPORTS_TABLE, IMPORTS_TABLE_KEYS);
  await ensureTable(client, c.API_KEYS_TABLE, API_KEYS_TABLE_KEYS);
};
