import {
  APIGatewayClient,
  paginateGetApiKeys,
  paginateGetUsagePlanKeys,
  paginateGetUsagePlans,
} from '@aws-sdk/client-api-gateway';

/** One API key as the usage plans know it: its id (what records and metering carry) and whether it is enabled. */
export interface KnownKey {
  id: string;
  enabled: boolean;
  /**
   * The numbers of the usage plan the key is in (a DAY quota only: a WEEK or MONTH quota is
   * left to the gateway's header-keyed routes). Known only to the sources that list plans.
   */
  plan?: { rate: number; burst: number; quota?: number; name?: string };
}

/**
 * Where the valid API keys come from: API Gateway's own keys in AWS (the ones the usage
 * plans meter; for body-keyed requests, their DynamoDB mirror, `key-mirror.ts`), the
 * emulator's configured list locally. Looked up by the key's value.
 */
export interface KeySource {
  /** The key with this value, or undefined when there is none. */
  lookup(value: string): Promise<KnownKey | undefined>;
}

/** Every key of the account's API Gateway, by value: GetApiKeys with includeValues, page by page. */
export const listApiGatewayKeys = async (client: APIGatewayClient): Promise<Map<string, KnownKey>> => {
  const keys = new Map<string, KnownKey>();
  for await (const page of paginateGetApiKeys({ client, pageSize: 500 }, { includeValues: true })) {
    for (const k of page.items ?? []) {
      if (k.value && k.id) keys.set(k.value, { id: k.id, enabled: k.enabled === true });
    }
  }
  return keys;
};

/**
 * Every key, as `listApiGatewayKeys`, with the name and numbers of the usage plan it is in
 * (GetUsagePlans, then GetUsagePlanKeys per plan): what the key-sync function mirrors for the
 * body-keyed requests' check (`key-mirror.ts`) and what the authorizer passes on (the plan's
 * name, for fair use). A key in no plan has no `plan` (the gateway would refuse it: so does
 * that check).
 *
 * A key may be in several plans, one per API stage (API Gateway refuses a second plan of the
 * same stage). With `apiId`, only the plans attached to a stage of that API count (the
 * authorizer's choice: its API is in the request's method ARN); without it, or when several
 * still match, the plan whose name sorts first wins, so every listing picks the same one.
 */
export const listApiGatewayKeysWithPlans = async (
  client: APIGatewayClient,
  { apiId }: { apiId?: string } = {},
): Promise<Map<string, KnownKey>> => {
  const keys = await listApiGatewayKeys(client);
  const byId = new Map([...keys.values()].map((k) => [k.id, k]));
  for await (const page of paginateGetUsagePlans({ client, pageSize: 500 }, {})) {
    for (const plan of page.items ?? []) {
      if (!plan.id) continue;
      if (apiId !== undefined && !plan.apiStages?.some((s) => s.apiId === apiId)) continue;
      const limits = {
        ...(plan.name ? { name: plan.name } : {}),
        rate: plan.throttle?.rateLimit ?? Number.POSITIVE_INFINITY,
        burst: plan.throttle?.burstLimit ?? Number.POSITIVE_INFINITY,
        ...(plan.quota?.period === 'DAY' && plan.quota.limit !== undefined ? { quota: plan.quota.limit } : {}),
      };
      for await (const keysPage of paginateGetUsagePlanKeys({ client, pageSize: 500 }, { usagePlanId: plan.id })) {
        for (const k of keysPage.items ?? []) {
          const known = k.id ? byId.get(k.id) : undefined;
          if (known && !(known.plan && (known.plan.name ?? '') <= (limits.name ?? ''))) known.plan = limits;
        }
      }
    }
  }
  return keys;
};

/**
 * A key source over a full listing, refreshed at most every `ttlMs` (the listing is a
 * control-plane call, throttled by API Gateway at a few a second per account). A value
 * not in a fresh-enough listing triggers one refresh (a key created a moment ago works
 * without waiting for the TTL), at most once per `ttlMs / 10` so unknown keys cannot
 * turn every request into a listing. Concurrent lookups share one refresh.
 *
 * @example
 * const source = cachedKeySource(() => listApiGatewayKeys(new APIGatewayClient({})), 60_000);
 * await source.lookup('k'); // => { id: 'abc123', enabled: true } or undefined
 */
export const cachedKeySource = (
  list: () => Promise<Map<string, KnownKey>>,
  ttlMs: number,
  now: () => number = Date.now,
): KeySource => {
  let keys: Map<string, KnownKey> | undefined;
  let listedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<Map<string, KnownKey>> | undefined;
  const refresh = (): Promise<Map<string, KnownKey>> => {
    pending ??= list()
      .then((fresh) => {
        keys = fresh;
        listedAt = now();
        return fresh;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  return {
    async lookup(value) {
      const age = now() - listedAt;
      if (!keys || age >= ttlMs) return (await refresh()).get(value);
      const hit = keys.get(value);
      if (hit || age < ttlMs / 10) return hit;
      return (await refresh()).get(value);
    },
  };
};

/** A fixed list of keys (the emulator's): each key's id as the emulator reports it, or the whole key. */
export const staticKeySource = (keys: ReadonlyMap<string, string | KnownKey>): KeySource => ({
  lookup: async (value) => {
    const known = keys.get(value);
    if (known === undefined) return undefined;
    return typeof known === 'string' ? { id: known, enabled: true } : known;
  },
});

/** How long the functions and the authorizer trust a listing of API Gateway's keys. */
export const KEY_LIST_TTL_MS = 60_000;

let shared: KeySource | undefined;
/**
 * The process's key source over API Gateway's keys with their plans, for the API `apiId`
 * (one listing per TTL, shared by every request: an authorizer serves one API).
 */
export const apiGatewayKeySource = (apiId?: string): KeySource => {
  shared ??= cachedKeySource(
    () => listApiGatewayKeysWithPlans(new APIGatewayClient({}), apiId === undefined ? {} : { apiId }),
    KEY_LIST_TTL_MS,
  );
  return shared;
};
