import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite } from '#local/stack.ts';
import { ensureTable, makeDocumentClient } from '#predictions/client.ts';
import { USAGE_TABLE_KEYS } from '#predictions/schema.ts';
import type { RouteUsage } from '#predictions/units.ts';
import { allowanceOf, InFlight, UNMETERED, windowOf, withFairUse } from '#predictions/usage.ts';
import { loadConfig, setConfig } from '#runtime/config.ts';

describe('usage windows', () => {
  it('a window is the UTC day, ending at midnight, kept a day longer', () => {
    const w = windowOf(Date.parse('2026-03-01T23:59:30Z'));

    expect(w).toEqual({ id: '2026-03-01', endsInSeconds: 30, expiresAt: Date.parse('2026-03-03T00:00:00Z') / 1000 });
  });
});

describe('InFlight', () => {
  it('gives each key its own slots, refuses past them with Retry-After, and frees a slot once', () => {
    const slots = new InFlight(() => 1);
    const release = slots.acquire('a');

    expect(() => slots.acquire('a')).toThrow(expect.objectContaining({ status: 429, headers: { 'Retry-After': '1' } }));
    const other = slots.acquire('b');
    release();
    release();
    expect(slots.of('a')).toBe(0);
    expect(() => slots.acquire('a')).not.toThrow();
    other();
    expect(slots.of('b')).toBe(0);
  });
});

describe('allowanceOf', () => {
  const c = {
    CHARACTERS_PER_DAY: 1000,
    TOKENS_PER_DAY: 500,
    FAIR_USE_PLANS: { free: { charactersPerDay: 100 }, pro: { tokensPerDay: 0 } },
  };

  it("takes the plan's own number for the unit, naming the plan", () => {
    expect(allowanceOf(c, 'characters', 'free')).toEqual({ unit: 'characters', limit: 100, plan: 'free' });
    expect(allowanceOf(c, 'tokens', 'pro')).toEqual({ unit: 'tokens', limit: 0, plan: 'pro' });
  });

  it("falls back to the stage's number for a unit the plan leaves out, an unknown plan, no plan, or a prototype name", () => {
    expect(allowanceOf(c, 'tokens', 'free')).toEqual({ unit: 'tokens', limit: 500 });
    expect(allowanceOf(c, 'characters', 'gold')).toEqual({ unit: 'characters', limit: 1000 });
    expect(allowanceOf(c, 'characters', undefined)).toEqual({ unit: 'characters', limit: 1000 });
    expect(allowanceOf(c, 'characters', 'toString')).toEqual({ unit: 'characters', limit: 1000 });
  });
});

describe('withFairUse against DynamoDB (dynalite)', () => {
  const TABLE = 'usage-unit';
  let db: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof makeDocumentClient>;
  const tokens: RouteUsage = { unit: 'tokens', amount: (b) => (b as { max: number }).max };
  const characters: RouteUsage = { unit: 'characters', amount: (b) => (b as { text: string }).text.length };
  const used = async (key: string, unit: string) =>
    (
      await client.send(
        new GetCommand({ TableName: TABLE, Key: { counter: `${key}#${unit}#${windowOf(Date.now()).id}` } }),
      )
    ).Item?.used as number | undefined;

  beforeAll(async () => {
    db = await startDynalite('memory');
    setConfig(
      loadConfig({
        DYNAMODB_ENDPOINT: db.endpoint,
        USAGE_TABLE: TABLE,
        CHARACTERS_PER_DAY: '100',
        TOKENS_PER_DAY: '100',
        FAIR_USE_PLANS: JSON.stringify({ small: { charactersPerDay: 10 } }),
      }),
    );
    client = makeDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: db.endpoint });
    await ensureTable(client, TABLE, USAGE_TABLE_KEYS);
  });
  afterAll(() => db.close());

  it("charges against the key's plan: 429 naming the plan's allowance for one, served for a key on the default", async () => {
    const body = { text: 'x'.repeat(20) };
    const run = (apiKeyId: string, plan?: string) =>
      withFairUse(characters, 'detect', { apiKeyId, plan }, body, async () => 'ok');

    await expect(run('key-small', 'small')).rejects.toMatchObject({
      status: 429,
      message: expect.stringContaining('allowance on plan "small" is 10 characters per UTC day'),
    });
    expect(await run('key-default', 'unlisted')).toBe('ok');
    expect(await used('key-small', 'characters')).toBeUndefined();
    expect(await used('key-default', 'characters')).toBe(20);
  });

  it('refunds what the work settles it did not use, once; a failure after settling refunds the rest', async () => {
    const settled = await withFairUse(tokens, 'completions', { apiKeyId: 'key-t' }, { max: 40 }, async (meter) => {
      await meter.settle(12);
      await meter.settle(0); // later calls change nothing
      return 'done';
    });
    expect(settled).toBe('done');
    expect(await used('key-t', 'tokens')).toBe(12);

    const failed = withFairUse(tokens, 'completions', { apiKeyId: 'key-t' }, { max: 40 }, async (meter) => {
      await meter.settle(30);
      throw new Error('model exploded');
    });
    await expect(failed).rejects.toThrow('model exploded');
    expect(await used('key-t', 'tokens')).toBe(12);
  });

  it('a key with a small allowance makes more short answers than allowance / reserved would allow', async () => {
    // 100 tokens a day, 40 reserved a request, 5 generated: 2 would fit without refunds; 10 fit with them.
    const answers: string[] = [];
    for (let i = 0; i < 10; i++) {
      answers.push(
        await withFairUse(tokens, 'completions', { apiKeyId: 'key-short' }, { max: 40 }, async (meter) => {
          await meter.settle(5);
          return 'ok';
        }),
      );
    }

    expect(answers).toHaveLength(10);
    expect(await used('key-short', 'tokens')).toBe(50);
  });

  it('an unkeyed request is not metered and its meter does nothing', async () => {
    const meter = await withFairUse(tokens, 'completions', { apiKeyId: null }, { max: 1e9 }, async (m) => m);

    expect(meter).toBe(UNMETERED);
  });
});
