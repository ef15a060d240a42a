import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '#runtime/config.ts';
import { PREDICTIONS_TABLE_KEYS } from './schema.ts';

/** A DynamoDB document client; with an endpoint (dynalite locally) it uses dummy credentials. */
export const makeDocumentClient = (c: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: c.AWS_REGION,
      ...(c.DYNAMODB_ENDPOINT
        ? { endpoint: c.DYNAMODB_ENDPOINT, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );

/**
 * Creates the prediction log table from `schema.ts` when it does not exist: the local
 * emulator's twin of the CDK table (in AWS the stack owns the table).
 */
export const ensurePredictionsTable = async (client: DynamoDBDocumentClient, tableName: string): Promise<void> => {
  const exists = await client.send(new DescribeTableCommand({ TableName: tableName })).then(
    () => true,
    () => false,
  );
  if (exists) return;
  const k = PREDICTIONS_TABLE_KEYS;
  const attributes = new Set<string>([k.partitionKey, k.sortKey]);
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
        { AttributeName: k.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: k.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
  );
  // dynalite ignores TTL but accepts the call; it documents the intent and matches AWS.
  await client
    .send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: k.ttlAttribute, Enabled: true },
      }),
    )
    .catch(() => undefined);
};
