import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite } from '#local/stack.ts';
import { ensureTable, makeDocumentClient, onFirstSend } from '#predictions/client.ts';

describe('onFirstSend', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  beforeAll(async () => {
    db = await startDynalite('memory');
  });
  afterAll(() => db.close());

  it('makes the client on the first call only, and answers as the client does', async () => {
    const config = { AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: db.endpoint };
    await ensureTable(makeDocumentClient(config), 'lazy', { partitionKey: 'k', globalSecondaryIndexes: [] });
    let made = 0;
    const dynamo = onFirstSend(() => {
      made += 1;
      return makeDocumentClient(config);
    });
    const before = made;

    await dynamo.send(new PutCommand({ TableName: 'lazy', Item: { k: '1', v: 'one' } }));
    const got = await dynamo.send(new GetCommand({ TableName: 'lazy', Key: { k: '1' } }));

    expect(before).toBe(0);
    expect(made).toBe(1);
    expect(got.Item).toEqual({ k: '1', v: 'one' });
  });
});
