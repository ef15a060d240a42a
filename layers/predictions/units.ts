/**
 * What the per-key allowances count, in plain code the route specs import without loading
 * the metering itself (DynamoDB, the logger): `usage.ts` does the counting.
 */

/** The unit that costs: input characters (translate, detect) or completion tokens. */
export type UsageUnit = 'characters' | 'tokens';

/** What a route meters (its spec's `usage`): the unit, how many a body costs, whether it is heavy work. */
export interface RouteUsage {
  unit: UsageUnit;
  amount: (body: unknown) => number;
  /** Counts against the key's heavy requests in flight on this instance. */
  heavy?: boolean;
}

/** Characters of the texts a translate or detect body carries (`text`, `texts`, LibreTranslate's `q`). */
export const charactersOf = (body: unknown): number => {
  const b = (body ?? {}) as Record<string, unknown>;
  const texts = [b.text, b.texts, b.q].flat().filter((t): t is string => typeof t === 'string');
  return texts.reduce((n, t) => n + [...t].length, 0);
};

/**
 * Completion tokens a body may generate: its `max_tokens` (or `max_completion_tokens`,
 * else `defaultMax`) × `n` × prompts. Reserved before generation, so the allowance holds
 * however long the stream runs; when the answer ends (its `usage.completion_tokens`, a
 * stream's tokens sent, a client gone or a deadline) the route settles what it generated
 * and the rest is refunded (`UsageMeter`, usage.ts).
 */
export const tokensOf = (body: unknown, defaultMax: number): number => {
  const b = (body ?? {}) as {
    max_tokens?: number | null;
    max_completion_tokens?: number | null;
    n?: number | null;
    prompt?: unknown;
  };
  const prompts = Array.isArray(b.prompt) ? Math.max(1, b.prompt.length) : 1;
  return (b.max_completion_tokens ?? b.max_tokens ?? defaultMax) * (b.n ?? 1) * prompts;
};
