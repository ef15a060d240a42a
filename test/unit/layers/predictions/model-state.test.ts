import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ModelStateStore } from '#predictions/model-state.ts';

const NOW = Date.parse('2026-12-06T10:00:00Z');
const SECONDS = NOW / 1000;

/** A client that records updates and answers BatchGet with `items`. */
const fakeClient = (items: Record<string, unknown>[] = []) => {
  const updates: UpdateCommand['input'][] = [];
  const client = {
    send: async (command: unknown) => {
      if (command instanceof UpdateCommand) {
        updates.push(command.input);
        return {};
      }
      if (command instanceof BatchGetCommand) {
        const keys = Object.values(command.input.RequestItems!)[0]!.Keys!.map((k) => k.cacheKey);
        return { Responses: { cache: items.filter((i) => keys.includes(i.cacheKey)) } };
      }
      throw new Error('unexpected command');
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, updates };
};

const store = (client: DynamoDBDocumentClient) =>
  new ModelStateStore({ client, table: 'cache', ttlSeconds: 600, instance: 'i-1', now: () => NOW });

describe('ModelStateStore', () => {
  it('adds the instance to loadedBy and drops it from loadingBy when a model has loaded, with a TTL', async () => {
    const { client, updates } = fakeClient();

    await store(client).report({
      kind: 'loaded',
      key: 'lid176@1',
      task: 'language-identification',
      loadMs: 41.6,
      memoryBytes: 9,
    });

    expect(updates[0]).toMatchObject({ TableName: 'cache', Key: { cacheKey: 'model-state#lid176@1' } });
    expect(updates[0]!.UpdateExpression).toMatch(/ADD loadedBy :i DELETE loadingBy :i$/);
    expect(updates[0]!.ExpressionAttributeValues).toMatchObject({
      ':i': new Set(['unknown/i-1']),
      ':exp': SECONDS + 600,
      ':ms': 42,
      ':mem': 9,
      ':task': 'language-identification',
    });
  });

  it('removes only its own instance on eviction', async () => {
    const { client, updates } = fakeClient();

    await store(client).report({ kind: 'evicted', key: 'lid176@1' });

    expect(updates[0]!.UpdateExpression).toMatch(/DELETE loadedBy :i$/);
    expect(updates[0]!.ExpressionAttributeValues?.[':task']).toBeUndefined();
  });

  it('reads loaded, loading, failed and available, and ignores expired items', async () => {
    const item = (key: string, extra: Record<string, unknown>, expiresAt = SECONDS + 60) => ({
      cacheKey: `model-state#${key}`,
      expiresAt,
      task: 'translation',
      ...extra,
    });
    const { client } = fakeClient([
      item('a@1', { loadedBy: new Set(['translate/x', 'models/y']), loadMs: 120, memoryBytes: 5 }),
      item('b@1', { loadingBy: new Set(['translate/x']) }),
      item('c@1', { failedAt: '2026-12-06T09:59:00Z' }),
      item('d@1', {}),
      item('e@1', { loadedBy: new Set(['translate/x']) }, SECONDS - 1),
    ]);

    const states = await store(client).readMany(['a@1', 'b@1', 'c@1', 'd@1', 'e@1', 'f@1']);

    expect(states.get('a@1')).toMatchObject({
      status: 'loaded',
      instances: 2,
      loadedBy: ['models/y', 'translate/x'],
      loadMs: 120,
      memoryBytes: 5,
    });
    expect(states.get('b@1')?.status).toBe('loading');
    expect(states.get('c@1')?.status).toBe('failed');
    expect(states.get('d@1')?.status).toBe('available');
    expect(states.has('e@1')).toBe(false);
    expect(states.has('f@1')).toBe(false);
  });
});
