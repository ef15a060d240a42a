import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ModelStateStore } from '#predictions/model-state.ts';

const NOW = Date.parse('2026-12-06T10:00:00Z');
const SECONDS = NOW / 1000;

/** A table of items keyed by (model, holder): BatchWrite puts and deletes, Query by model. */
const fakeTable = (initial: Record<string, unknown>[] = []) => {
  const items = new Map(initial.map((i) => [`${i.model}|${i.holder}`, i]));
  const client = {
    send: async (command: unknown) => {
      if (command instanceof BatchWriteCommand) {
        for (const r of Object.values(command.input.RequestItems!)[0]!) {
          if (r.PutRequest) items.set(`${r.PutRequest.Item!.model}|${r.PutRequest.Item!.holder}`, r.PutRequest.Item!);
          if (r.DeleteRequest) items.delete(`${r.DeleteRequest.Key!.model}|${r.DeleteRequest.Key!.holder}`);
        }
        return {};
      }
      if (command instanceof QueryCommand) {
        const model = command.input.ExpressionAttributeValues![':m'];
        return { Items: [...items.values()].filter((i) => i.model === model) };
      }
      throw new Error('unexpected command');
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, items };
};

const store = (client: DynamoDBDocumentClient, instance = 'i-1') =>
  new ModelStateStore({ client, table: 'model-state', ttlSeconds: 600, instance, now: () => NOW });

describe('ModelStateStore', () => {
  it('puts one item per model and holder, with a TTL, and deletes it on eviction', async () => {
    const { client, items } = fakeTable();
    const states = store(client);

    await states.report({ kind: 'loading', key: 'lid176@1', task: 'language-identification' });
    await states.report({
      kind: 'loaded',
      key: 'lid176@1',
      task: 'language-identification',
      loadMs: 41.6,
      memoryBytes: 9,
    });
    const loaded = await states.read('lid176@1');
    const item = [...items.values()][0];
    await states.report({ kind: 'evicted', key: 'lid176@1' });

    expect(item).toMatchObject({
      model: 'lid176@1',
      holder: 'unknown/i-1',
      state: 'loaded',
      loadMs: 42,
      expiresAt: SECONDS + 600,
    });
    expect(loaded).toMatchObject({
      status: 'loaded',
      instances: 1,
      loadMs: 42,
      memoryBytes: 9,
      loadedBy: ['unknown/i-1'],
    });
    expect(items.size).toBe(0);
    expect(await states.read('lid176@1')).toBeUndefined();
  });

  it('says loaded when any holder has it, else loading, else failed, and ignores expired items', async () => {
    const item = (model: string, holder: string, state: string, expiresAt = SECONDS + 60) => ({
      model,
      holder,
      state,
      task: 'translation',
      expiresAt,
      updatedAt: '2026-12-06T09:59:00Z',
    });
    const { client } = fakeTable([
      item('a@1', 'translate/x', 'loaded'),
      item('a@1', 'models/y', 'failed'),
      item('b@1', 'translate/x', 'loading'),
      item('b@1', 'models/y', 'failed'),
      item('c@1', 'translate/x', 'failed'),
      item('d@1', 'translate/x', 'loaded', SECONDS - 1),
    ]);

    const states = await store(client).readMany(['a@1', 'b@1', 'c@1', 'd@1', 'e@1']);

    expect(states.get('a@1')).toMatchObject({ status: 'loaded', instances: 1, loadedBy: ['translate/x'] });
    expect(states.get('b@1')?.status).toBe('loading');
    expect(states.get('c@1')?.status).toBe('failed');
    expect(states.has('d@1')).toBe(false);
    expect(states.has('e@1')).toBe(false);
  });
});
