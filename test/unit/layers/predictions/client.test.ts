import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite } from '#local/stack.ts';
import { ensureTable, makeDocumentClient } from '#predictions/client.ts';
import { dynamoSdk, isConditionalCheckFailed, lazyDocumentClient, requestPathClient } from '#predictions/dynamo.ts';

describe('lazyDocumentClient', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  beforeAll(async () => {
    db = await startDynalite('memory');
  });
  afterAll(() => db.close());

  it('answers as a client does, and refuses a failed condition by name', async () => {
    const config = { AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: db.endpoint };
    await ensureTable(makeDocumentClient(config), 'lazy', { partitionKey: 'k', globalSecondaryIndexes: [] });
    const dynamo = lazyDocumentClient(config);
    const { GetCommand, PutCommand } = await dynamoSdk();

    await dynamo.send(new PutCommand({ TableName: 'lazy', Item: { k: '1', v: 'one' } }));
    const got = await dynamo.send(new GetCommand({ TableName: 'lazy', Key: { k: '1' } }));
    const refused = await dynamo
      .send(new PutCommand({ TableName: 'lazy', Item: { k: '1' }, ConditionExpression: 'attribute_not_exists(k)' }))
      .catch((error: unknown) => error);

    expect(got.Item).toEqual({ k: '1', v: 'one' });
    expect(isConditionalCheckFailed(refused)).toBe(true);
    expect(isConditionalCheckFailed(new Error('other'))).toBe(false);
  });
});

describe('requestPathClient', () => {
  it('is one client per configuration: the stores of a process share it, a swapped configuration gets its own', () => {
    const a = { AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' };
    const b = { ...a };

    const first = requestPathClient(a);

    expect(requestPathClient(a)).toBe(first);
    expect(requestPathClient(b)).not.toBe(first);
  });
});
