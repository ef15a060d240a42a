import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite } from '#local/stack.ts';
import { ensureTable, makeDocumentClient } from '#predictions/client.ts';
import { parseRecordsLine } from '#predictions/ingest.ts';
import { ModelStateStore, reportModelEvent } from '#predictions/model-state.ts';
import { MODEL_STATE_TABLE_KEYS } from '#predictions/schema.ts';

const NOW = Date.parse('2026-12-06T10:00:00Z');
const SECONDS = NOW / 1000;
/** A table of items keyed by (model, holder) that answers Query by model. */
const fakeTable = (initial: Record<string, unknown>[] = []) => {
  const client = {
    send: async (command: unknown) => {
      if (command instanceof QueryCommand) {
        const model = command.input.ExpressionAttributeValues![':m'];
        return { Items: initial.filter((i) => i.model === model) };
      }
      throw new Error('unexpected command');
    },
  } as unknown as DynamoDBDocumentClient;
  return { client };
};

const store = (client: DynamoDBDocumentClient, instance = 'i-1') =>
  new ModelStateStore({ client, table: 'model-state', ttlSeconds: 600, instance, now: () => NOW });

describe('ModelStateStore on dynalite', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  let client: DynamoDBDocumentClient;
  let table = 0;
  /** A store on a table of its own. */
  const fresh = async (instance = 'i-1') => {
    table += 1;
    await ensureTable(client, `model-state-${table}`, MODEL_STATE_TABLE_KEYS);
    return new ModelStateStore({
      client,
      table: `model-state-${table}`,
      ttlSeconds: 600,
      instance,
      now: () => Date.now(),
    });
  };

  beforeAll(async () => {
    db = await startDynalite('memory');
    client = makeDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: db.endpoint });
  });
  afterAll(() => db.close());

  it('puts one item per model and holder, with a TTL, and an eviction hides it from readers', async () => {
    const states = await fresh();
    const loading = states.item({ kind: 'loading', key: 'lid176@1', task: 'language-identification' });
    const loaded = states.item({
      kind: 'loaded',
      key: 'lid176@1',
      task: 'language-identification',
      loadMs: 41.6,
      memoryBytes: 9,
    });

    expect(await states.apply([loading, loaded])).toBe(2);
    const read = await states.read('lid176@1');
    await states.apply([states.item({ kind: 'evicted', key: 'lid176@1' })]);

    expect(loaded).toMatchObject({ model: 'lid176@1', holder: 'unknown/i-1', state: 'loaded', loadMs: 42 });
    expect(Number(loaded.expiresAt) - Date.now() / 1000).toBeGreaterThan(590);
    expect(read).toMatchObject({
      status: 'loaded',
      instances: 1,
      loadMs: 42,
      memoryBytes: 9,
      loadedBy: ['unknown/i-1'],
    });
    expect(await states.read('lid176@1')).toBeUndefined();
  });

  it("keeps a holder's newest item when its lines arrive out of order (a late loaded after the eviction)", async () => {
    const states = await fresh();
    const loading = states.item({ kind: 'loading', key: 'm@1', task: 'text-classification' });
    const loaded = states.item({ kind: 'loaded', key: 'm@1', task: 'text-classification', loadMs: 5 });
    const evicted = states.item({ kind: 'evicted', key: 'm@1' });

    // Two batches delivered the wrong way round: the eviction first.
    const first = await states.apply([evicted]);
    const late = await states.apply([loading, loaded]);

    expect([first, late]).toEqual([1, 0]);
    expect(await states.read('m@1')).toBeUndefined();
  });

  it('skips a put that fails and goes on with the rest (status is best effort)', async () => {
    const states = await fresh();
    const broken = { ...states.item({ kind: 'loading', key: 'x@1', task: 'translation' }), model: undefined };
    const good = states.item({ kind: 'loaded', key: 'y@1', task: 'translation', loadMs: 1 });

    expect(await states.apply([broken, good])).toBe(1);
    expect((await states.read('y@1'))?.status).toBe('loaded');
  });
});

describe('reportModelEvent', () => {
  it('prints the item on a records line of its own, with no record and no DynamoDB call', () => {
    const printed: string[] = [];

    reportModelEvent({ kind: 'failed', key: 'z@1', task: 'translation', error: 'x'.repeat(600) }, (l) =>
      printed.push(l),
    );

    expect(printed).toHaveLength(1);
    const line = parseRecordsLine(printed[0]!);
    expect(line?.records).toEqual([]);
    expect(line?.models).toEqual([
      expect.objectContaining({ model: 'z@1', state: 'failed', error: 'x'.repeat(500), seq: expect.any(Number) }),
    ]);
  });
});

describe('ModelStateStore.read', () => {
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
