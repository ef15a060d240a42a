import {
  APIGatewayClient,
  GetApiKeysCommand,
  type GetApiKeysCommandInput,
  GetUsagePlanKeysCommand,
  type GetUsagePlanKeysCommandInput,
  GetUsagePlansCommand,
} from '@aws-sdk/client-api-gateway';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { authenticateBodyKey } from '#functions/body-key.ts';
import { dynamoKeySource, keyHash, syncKeyMirror } from '#http/key-mirror.ts';
import { listApiGatewayKeysWithPlans } from '#http/key-source.ts';
import type { ApiEvent } from '#http/types.ts';
import { startDynalite } from '#local/stack.ts';
import { ensureTable, makeDocumentClient } from '#predictions/client.ts';
import { API_KEYS_TABLE_KEYS } from '#predictions/schema.ts';

/**
 * The key mirror against dynalite on loopback (the real DynamoDB semantics of Scan, Put,
 * Delete and GetItem) and a fake API Gateway client answering the three listing calls from
 * an in-memory account (`account`), which each test edits between syncs.
 */

interface FakeKey {
  id: string;
  value: string;
  enabled: boolean;
}
interface FakePlan {
  id: string;
  name?: string;
  apiStages?: { apiId: string; stage: string }[];
  throttle?: { rateLimit: number; burstLimit: number };
  quota?: { limit: number; period: 'DAY' | 'WEEK' };
  keyIds: string[];
}

const account = { keys: [] as FakeKey[], plans: [] as FakePlan[], calls: 0 };

/** A real client (the paginators check its class) whose `send` answers from `account`, two keys a page. */
const fakeApiGateway = (): APIGatewayClient => {
  const client = new APIGatewayClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  vi.spyOn(client, 'send').mockImplementation(async (command: unknown) => {
    account.calls++;
    if (command instanceof GetApiKeysCommand) {
      const input = command.input as GetApiKeysCommandInput;
      const start = Number(input.position ?? 0);
      const items = account.keys.slice(start, start + 2);
      const more = start + 2 < account.keys.length;
      return {
        items: input.includeValues ? items : items.map(({ value: _, ...k }) => k),
        position: more ? String(start + 2) : undefined,
      };
    }
    if (command instanceof GetUsagePlansCommand) return { items: account.plans };
    if (command instanceof GetUsagePlanKeysCommand) {
      const { usagePlanId } = command.input as GetUsagePlanKeysCommandInput;
      const plan = account.plans.find((p) => p.id === usagePlanId);
      return { items: (plan?.keyIds ?? []).map((id) => ({ id, type: 'API_KEY' })) };
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  });
  return client;
};

const TABLE = 'api-keys-test';
let db: Awaited<ReturnType<typeof startDynalite>>;
let client: ReturnType<typeof makeDocumentClient>;
const apiGateway = fakeApiGateway();
const sync = async () => syncKeyMirror(client, TABLE, await listApiGatewayKeysWithPlans(apiGateway));
const items = async () => (await client.send(new ScanCommand({ TableName: TABLE }))).Items ?? [];

beforeAll(async () => {
  db = await startDynalite('memory');
  client = makeDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: db.endpoint });
  await ensureTable(client, TABLE, API_KEYS_TABLE_KEYS);
});
afterAll(() => db.close());
beforeEach(async () => {
  account.keys = [
    { id: 'k1', value: 'value-one', enabled: true },
    { id: 'k2', value: 'value-two', enabled: true },
    { id: 'k3', value: 'value-three', enabled: true },
    { id: 'k4', value: 'value-planless', enabled: true },
  ];
  account.plans = [
    {
      id: 'basic',
      throttle: { rateLimit: 5, burstLimit: 10 },
      quota: { limit: 1000, period: 'DAY' },
      keyIds: ['k1', 'k2'],
    },
    { id: 'open', keyIds: ['k3'] },
  ];
  // Each test starts from an empty mirror.
  await syncKeyMirror(client, TABLE, new Map());
});

describe('syncKeyMirror', () => {
  it('mirrors each key in a plan by its hash with its id and plan numbers; never the key itself', async () => {
    const result = await sync();

    expect(result).toEqual({ added: 3, changed: 0, removed: 0, unchanged: 0 });
    const stored = await items();
    expect(stored).toHaveLength(3);
    expect(stored).toContainEqual({
      keyHash: keyHash('value-one'),
      id: 'k1',
      enabled: true,
      rate: 5,
      burst: 10,
      quota: 1000,
    });
    // No throttle or quota: nothing stored for them (DynamoDB has no Infinity), read back as unlimited.
    expect(stored).toContainEqual({ keyHash: keyHash('value-three'), id: 'k3', enabled: true });
    expect(JSON.stringify(stored)).not.toMatch(/value-/);
  });

  it('is a diff: a plan change, a disabled key and a removed key are written, nothing else is', async () => {
    await sync();
    expect(await sync()).toEqual({ added: 0, changed: 0, removed: 0, unchanged: 3 });

    account.plans[0]!.throttle = { rateLimit: 50, burstLimit: 100 };
    account.keys[1]!.enabled = false;
    account.keys = account.keys.filter((k) => k.id !== 'k3');
    account.keys.push({ id: 'k5', value: 'value-five', enabled: true });
    account.plans[1]!.keyIds.push('k5');
    const result = await sync();

    expect(result).toEqual({ added: 1, changed: 2, removed: 1, unchanged: 0 });
    const byId = new Map((await items()).map((i) => [i.id, i]));
    expect([...byId.keys()].sort()).toEqual(['k1', 'k2', 'k5']);
    expect(byId.get('k1')).toMatchObject({ rate: 50, burst: 100, quota: 1000 });
    expect(byId.get('k2')).toMatchObject({ enabled: false });
  });

  it("mirrors the plan's name (fair use's per-plan allowances) and rewrites a key moved to another plan", async () => {
    account.plans[0]!.name = 'hf-serve-dev-free';
    account.plans[1]!.name = 'hf-serve-dev-pro';
    await sync();
    expect((await items()).find((i) => i.id === 'k1')).toMatchObject({ plan: 'hf-serve-dev-free' });

    // Same numbers, other plan: still a change to write (the allowance differs).
    account.plans.push({ ...account.plans[0]!, id: 'basic2', name: 'hf-serve-dev-basic2', keyIds: ['k1'] });
    account.plans[0]!.keyIds = ['k2'];
    const result = await sync();

    expect(result).toMatchObject({ changed: 1, unchanged: 2 });
    expect((await items()).find((i) => i.id === 'k1')).toMatchObject({ plan: 'hf-serve-dev-basic2', rate: 5 });
    expect(await dynamoKeySource(client, TABLE).lookup('value-one')).toMatchObject({
      plan: { name: 'hf-serve-dev-basic2' },
    });
  });

  it("a key in several plans: the request's API's plan when the listing knows the API, else the first by name", async () => {
    account.plans = [
      {
        id: 'p1',
        name: 'hf-serve-staging-pro',
        apiStages: [{ apiId: 'api-staging', stage: 'staging' }],
        keyIds: ['k1'],
      },
      { id: 'p2', name: 'hf-serve-dev-free', apiStages: [{ apiId: 'api-dev', stage: 'dev' }], keyIds: ['k1'] },
    ];

    const forStaging = await listApiGatewayKeysWithPlans(apiGateway, { apiId: 'api-staging' });
    const forDev = await listApiGatewayKeysWithPlans(apiGateway, { apiId: 'api-dev' });
    const forNone = await listApiGatewayKeysWithPlans(apiGateway, { apiId: 'api-other' });
    const any = await listApiGatewayKeysWithPlans(apiGateway);

    expect(forStaging.get('value-one')?.plan?.name).toBe('hf-serve-staging-pro');
    expect(forDev.get('value-one')?.plan?.name).toBe('hf-serve-dev-free');
    expect(forNone.get('value-one')?.plan).toBeUndefined();
    expect(any.get('value-one')?.plan?.name).toBe('hf-serve-dev-free');
  });

  it('deletes a key taken out of every plan, and replaces an item that is not a mirrored key', async () => {
    await sync();
    await client.send(new PutCommand({ TableName: TABLE, Item: { keyHash: 'stray', note: 'hand-written' } }));
    account.plans[0]!.keyIds = ['k1'];

    expect(await sync()).toEqual({ added: 0, changed: 0, removed: 2, unchanged: 2 });
    expect((await items()).map((i) => i.id).sort()).toEqual(['k1', 'k3']);
  });

  it('writes nothing when the listing fails', async () => {
    await sync();
    const failing = fakeApiGateway();
    vi.mocked(failing.send).mockRejectedValue(new Error('TooManyRequestsException'));

    await expect(
      listApiGatewayKeysWithPlans(failing).then((keys) => syncKeyMirror(client, TABLE, keys)),
    ).rejects.toThrow('TooManyRequests');
    expect(await items()).toHaveLength(3);
  });
});

describe('dynamoKeySource', () => {
  it('finds a mirrored key by value, with unlimited numbers where the plan has none; unknown is undefined', async () => {
    await sync();
    const source = dynamoKeySource(client, TABLE);

    expect(await source.lookup('value-one')).toEqual({
      id: 'k1',
      enabled: true,
      plan: { rate: 5, burst: 10, quota: 1000 },
    });
    expect(await source.lookup('value-three')).toEqual({
      id: 'k3',
      enabled: true,
      plan: { rate: Number.POSITIVE_INFINITY, burst: Number.POSITIVE_INFINITY },
    });
    expect(await source.lookup('value-planless')).toBeUndefined();
  });

  it('caches a found key for positiveMs and a missing one for the shorter negativeMs; one read per key at once', async () => {
    await sync();
    let t = 0;
    const send = vi.spyOn(client, 'send');
    const source = dynamoKeySource(client, TABLE, { positiveMs: 1000, negativeMs: 100, now: () => t });

    await Promise.all([source.lookup('value-one'), source.lookup('value-one'), source.lookup('nope')]);
    expect(send).toHaveBeenCalledTimes(2);
    t = 99;
    await Promise.all([source.lookup('value-one'), source.lookup('nope')]);
    expect(send).toHaveBeenCalledTimes(2);
    t = 100;
    await Promise.all([source.lookup('value-one'), source.lookup('nope')]);
    expect(send).toHaveBeenCalledTimes(3);
    t = 1000;
    await source.lookup('value-one');
    expect(send).toHaveBeenCalledTimes(4);
    send.mockRestore();
  });

  it('keeps at most maxEntries lookups (unknown keys in bulk cannot grow it), and caches no failed read', async () => {
    await sync();
    const send = vi.spyOn(client, 'send');
    const source = dynamoKeySource(client, TABLE, { maxEntries: 2 });

    await source.lookup('value-one');
    await source.lookup('x1');
    await source.lookup('x2');
    await source.lookup('value-one');
    expect(send).toHaveBeenCalledTimes(4);

    send.mockRejectedValueOnce(new Error('timeout'));
    await expect(source.lookup('value-two')).rejects.toThrow('timeout');
    expect(await source.lookup('value-two')).toMatchObject({ id: 'k2' });
    send.mockRestore();
  });
});

describe('a body-keyed request through the mirror', () => {
  const request = () =>
    ({
      headers: {},
      body: { q: 'hi', api_key: 'value-three' },
      requestContext: { identity: {} },
    }) as unknown as ApiEvent;

  it('stops working after the next sync once its key is disabled in API Gateway (and the cache has expired)', async () => {
    await sync();
    let t = 0;
    const source = dynamoKeySource(client, TABLE, { now: () => t });
    expect(await authenticateBodyKey(request(), source)).toBe('k3');

    account.keys.find((k) => k.id === 'k3')!.enabled = false;
    t = 30_000;
    expect(await authenticateBodyKey(request(), source)).toBe('k3'); // cached, not synced yet
    await sync();
    t = 60_000;
    await expect(authenticateBodyKey(request(), source)).rejects.toMatchObject({ status: 403 });

    account.keys.find((k) => k.id === 'k3')!.enabled = true;
    await sync();
    t = 120_000;
    expect(await authenticateBodyKey(request(), source)).toBe('k3');
  });
});
