import { Readable } from 'node:stream';
import { logger } from '#observability/index.ts';
import { type Config, config } from '#runtime/config.ts';
import { AppError } from '#runtime/errors.ts';
import { type DocumentSender, dynamoSdk, isConditionalCheckFailed, requestPathClient } from './dynamo.ts';
import type { RouteUsage, UsageUnit } from './units.ts';

/**
 * Per-key fair use, one module for what the gateway cannot meter:
 * - **allowances** in the unit that costs (characters for translate and detect, tokens for
 *   completions) per key and UTC day, kept in DynamoDB (`USAGE_TABLE`) so every instance
 *   of every function shares them;
 * - **heavy work in flight** per key on one instance (`InFlight`).
 *
 * Correct under concurrency without locks or reads: each charge is ONE `UpdateItem` on the
 * item of the key's current window (`<apiKeyId>#<unit>#<yyyy-mm-dd>`), `ADD used :n` with
 * the condition `attribute_not_exists(used) OR used <= :room` (`:room` = limit − n).
 * DynamoDB applies conditional updates to one item one at a time, so of any number of
 * concurrent charges exactly those that fit are counted and the rest fail the condition
 * (429): the counter never passes the limit, and a refused charge adds nothing. The window
 * is in the key, so a new day is a new item starting at 0 (no reset job, no race at
 * midnight); `expiresAt` lets TTL remove old windows.
 */

export interface Allowance {
  /** What is counted: the unit that costs, or requests (a usage plan's throttle and quota). */
  unit: UsageUnit | 'requests';
  /** Units per window; 0 = not metered. */
  limit: number;
  /** The window's length: a UTC day by default; 1 (a second) for a plan's burst. */
  windowSeconds?: number;
  /** The usage plan the limit comes from, named in the 429 (undefined: the stage's default). */
  plan?: string;
}

const DAY_SECONDS = 86_400;

/** Past the allowance: 429 with the seconds until the window ends. */
export class UsageLimitError extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'usage_exceeded', message, { headers: { 'Retry-After': String(Math.max(1, retryAfterSeconds)) } });
  }
}

/**
 * The current window of a timestamp: its UTC day (or its `seconds`-long window since the epoch,
 * named by its start) and the seconds left in it.
 */
export const windowOf = (
  now: number,
  seconds: number = DAY_SECONDS,
): { id: string; endsInSeconds: number; expiresAt: number } => {
  const n = Math.floor(now / 1000 / seconds);
  const end = (n + 1) * seconds;
  const start = new Date(n * seconds * 1000).toISOString();
  return {
    id: seconds === DAY_SECONDS ? start.slice(0, 10) : `${start.slice(0, 19)}/${seconds}s`,
    endsInSeconds: Math.ceil(end - now / 1000),
    expiresAt: end + DAY_SECONDS,
  };
};

const windowName = (seconds: number): string => (seconds === DAY_SECONDS ? 'UTC day' : `${seconds} s`);

/**
 * Counts `amount` units against the key's allowance for today, or throws `UsageLimitError`
 * (nothing counted) when they do not fit. If DynamoDB cannot be reached the request is
 * served and the failure logged: metering must not take the API down with it.
 *
 * @example
 * await charge(client, 'usage', 'key-id', { unit: 'characters', limit: 100_000 }, 42);
 */
export const charge = async (
  client: DocumentSender,
  table: string,
  apiKeyId: string,
  allowance: Allowance,
  amount: number,
  now: number = Date.now(),
): Promise<boolean> => {
  if (allowance.limit <= 0 || amount <= 0) return false;
  const seconds = allowance.windowSeconds ?? DAY_SECONDS;
  const window = windowOf(now, seconds);
  const refuse = (why: string) =>
    new UsageLimitError(
      `${why} This key's allowance${allowance.plan ? ` on plan ${JSON.stringify(allowance.plan)}` : ''} is ${allowance.limit} ${allowance.unit} per ${windowName(seconds)}; it renews in ${window.endsInSeconds} s.`,
      window.endsInSeconds,
    );
  if (amount > allowance.limit)
    throw refuse(`This request needs ${amount} ${allowance.unit}, more than a whole window's allowance.`);
  try {
    const { UpdateCommand } = await dynamoSdk();
    await client.send(
      new UpdateCommand({
        TableName: table,
        Key: { counter: `${apiKeyId}#${allowance.unit}#${window.id}` },
        UpdateExpression: 'ADD used :n SET expiresAt = if_not_exists(expiresAt, :exp)',
        ConditionExpression: 'attribute_not_exists(used) OR used <= :room',
        ExpressionAttributeValues: { ':n': amount, ':room': allowance.limit - amount, ':exp': window.expiresAt },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) {
      throw refuse(`This request needs ${amount} ${allowance.unit} and this window's allowance has less left.`);
    }
    logger.warn('usage counter unavailable: request served unmetered', { error, unit: allowance.unit });
    return false;
  }
};

/**
 * Gives back what `charge` counted for a request that then failed (a 4xx from the handler, a
 * model that could not load): an unconditional `ADD used -n` on the same window's item.
 * Best effort: a refund that cannot be written leaves the key charged, never over-credited.
 */
export const refund = async (
  client: DocumentSender,
  table: string,
  apiKeyId: string,
  unit: Allowance['unit'],
  amount: number,
  now: number = Date.now(),
  windowSeconds: number = DAY_SECONDS,
): Promise<void> => {
  const { UpdateCommand } = await dynamoSdk();
  await client
    .send(
      new UpdateCommand({
        TableName: table,
        Key: { counter: `${apiKeyId}#${unit}#${windowOf(now, windowSeconds).id}` },
        UpdateExpression: 'ADD used :n',
        ConditionExpression: 'attribute_exists(used)',
        ExpressionAttributeValues: { ':n': -amount },
      }),
    )
    .catch((error: unknown) => logger.warn('usage refund not written', { error, unit }));
};

/**
 * Heavy requests in flight per key on this instance. A second heavy request from a key
 * that already has `max` in flight is refused at once (429, `Retry-After: 1`) rather than
 * queued: a queued request would hold a Lambda instance (and its concurrency) idle while
 * it waits, and API Gateway's 29 s would expire under it; the client's retry costs nothing.
 */
export class InFlight {
  private readonly counts = new Map<string, number>();
  constructor(private readonly max: () => number) {}

  /** Takes one of the key's slots (429 when it has none left); the function returned gives it back, once. */
  acquire(apiKeyId: string): () => void {
    const n = this.counts.get(apiKeyId) ?? 0;
    if (n >= this.max()) {
      throw new AppError(
        429,
        'too_many_in_flight',
        `This key already has ${n} heavy request(s) running on this instance: wait for it to finish, then retry.`,
        { headers: { 'Retry-After': '1' } },
      );
    }
    this.counts.set(apiKeyId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(apiKeyId) ?? 1) - 1;
      if (left > 0) this.counts.set(apiKeyId, left);
      else this.counts.delete(apiKeyId);
    };
  }

  /** In flight for a key now (tests, metrics). */
  of(apiKeyId: string): number {
    return this.counts.get(apiKeyId) ?? 0;
  }
}

/** A usage plan's numbers: requests per second (steady), burst, requests per UTC day (none when undefined). */
export interface PlanLimits {
  rate: number;
  burst: number;
  quota?: number;
}

/**
 * Counts one request against a key's usage-plan numbers where the gateway cannot (a key sent
 * in the body): a 1 s window limited to the burst, a 60 s window limited to 60 × rate + burst
 * (so the sustained rate stays the plan's rate, as the gateway's token bucket keeps it), and
 * the UTC day limited to the quota; each one conditional `ADD` with `charge`, in that order.
 * A refused request (429, `Retry-After` = the end of the window that refused it) gives back
 * what it had counted in the windows before, as the gateway's throttle does not count a
 * throttled request against the quota.
 *
 * @example
 * await meterRequest('key-id', { rate: 2, burst: 5, quota: 1000 }); // throws UsageLimitError past them
 */
export const meterRequest = async (apiKeyId: string, plan: PlanLimits, now: number = Date.now()): Promise<void> => {
  const c = config();
  const dynamo = requestPathClient(c);
  const all: Allowance[] = [
    { unit: 'requests', limit: plan.burst, windowSeconds: 1 },
    { unit: 'requests', limit: plan.rate * 60 + plan.burst, windowSeconds: 60 },
    ...(plan.quota === undefined ? [] : [{ unit: 'requests' as const, limit: plan.quota }]),
  ];
  const windows = all.filter((a) => Number.isFinite(a.limit));
  const counted: Allowance[] = [];
  try {
    for (const allowance of windows) {
      if (await charge(dynamo, c.USAGE_TABLE, apiKeyId, allowance, 1, now)) counted.push(allowance);
    }
  } catch (error) {
    await Promise.all(counted.map((a) => refund(dynamo, c.USAGE_TABLE, apiKeyId, a.unit, 1, now, a.windowSeconds)));
    throw error;
  }
};

const inFlight = new InFlight(() => config().HEAVY_IN_FLIGHT_PER_KEY);

/**
 * The allowance of a key on a plan: the plan's own number for the unit when the stage gives
 * it one (`FAIR_USE_PLANS`), else the stage's default (`CHARACTERS_PER_DAY`, `TOKENS_PER_DAY`),
 * also for a key whose plan is unknown or not listed.
 *
 * @example
 * allowanceOf({ CHARACTERS_PER_DAY: 1000, TOKENS_PER_DAY: 0, FAIR_USE_PLANS: { pro: { charactersPerDay: 9000 } } }, 'characters', 'pro');
 * // => { unit: 'characters', limit: 9000, plan: 'pro' }
 */
export const allowanceOf = (
  c: Pick<Config, 'CHARACTERS_PER_DAY' | 'TOKENS_PER_DAY' | 'FAIR_USE_PLANS'>,
  unit: UsageUnit,
  plan: string | undefined,
): Allowance => {
  const own =
    plan === undefined ? undefined : Object.hasOwn(c.FAIR_USE_PLANS, plan) ? c.FAIR_USE_PLANS[plan] : undefined;
  const limit = unit === 'characters' ? own?.charactersPerDay : own?.tokensPerDay;
  if (limit === undefined) return { unit, limit: unit === 'characters' ? c.CHARACTERS_PER_DAY : c.TOKENS_PER_DAY };
  return { unit, limit, plan };
};

/**
 * What a metered route's work gets to report what it really used, when that is known only at
 * the end (completion tokens: reserved as `max_tokens` × `n` × prompts, generated often
 * fewer). `settle(actual)` gives back `reserved − actual` with `refund` (once: later calls
 * change nothing) and resolves when the refund is written. A route that never settles stays
 * charged what was reserved.
 */
export interface UsageMeter {
  settle(actual: number): Promise<void>;
}

/** The meter of a request nothing was charged for. */
export const UNMETERED: UsageMeter = { settle: async () => undefined };

/** Who is calling: the key's id and, when the gateway or the key mirror knows it, its usage plan's name. */
export interface Caller {
  apiKeyId: string | null | undefined;
  plan?: string | undefined;
}

/**
 * Runs a metered route's work for the calling key: a heavy-work slot on this instance taken
 * (429 when the key has none left), its plan's allowance charged (429 past it), then the
 * work, which may settle what it really used (`UsageMeter`); a request that fails is
 * refunded whatever it had not given back yet. A request with no key id (a route the gateway
 * does not key) is not metered here.
 */
export const withFairUse = async <T>(
  usage: RouteUsage,
  /** The function (an instance serves one function: slots are per function, as in Lambda). */
  capability: string,
  caller: Caller,
  body: unknown,
  work: (meter: UsageMeter) => Promise<T>,
): Promise<T> => {
  const { apiKeyId } = caller;
  if (!apiKeyId) return work(UNMETERED);
  const c = config();
  // Made on the first charge (requestPathClient): a key whose plan sets no allowance is never charged.
  const dynamo = requestPathClient(c);
  const amount = usage.amount(body);
  const release = usage.heavy ? inFlight.acquire(`${capability}#${apiKeyId}`) : () => undefined;
  // The charge's time: a refund goes to the window that was charged, even past midnight.
  const at = Date.now();
  // What is still counted against the key for this request.
  let owed = 0;
  const giveBack = async (keep: number) => {
    const back = owed - Math.max(0, Math.min(keep, owed));
    if (back <= 0) return;
    owed -= back;
    await refund(dynamo, c.USAGE_TABLE, apiKeyId, usage.unit, back, at);
  };
  let settled: Promise<void> | undefined;
  const meter: UsageMeter = {
    settle: (actual) => {
      settled ??= giveBack(actual);
      return settled;
    },
  };
  try {
    if (await charge(dynamo, c.USAGE_TABLE, apiKeyId, allowanceOf(c, usage.unit, caller.plan), amount, at))
      owed = amount;
    const result = await work(meter);
    // A streamed answer (a Readable body) is still being generated: the slot is held until it closes.
    const stream = (result as { body?: unknown } | undefined)?.body;
    if (stream instanceof Readable && !stream.destroyed) stream.once('close', release);
    else release();
    return result;
  } catch (error) {
    release();
    // A request that fails costs nothing (a stream that fails midway has already answered 200: it settles what it sent).
    await settled;
    await giveBack(0);
    throw error;
  }
};
