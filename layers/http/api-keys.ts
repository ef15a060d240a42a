/**
 * Where clients put their API key: `x-api-key` (API Gateway's own header, the product's
 * first clients) or `Authorization: Bearer <key>` (the `openai` client, LangChain, curl
 * lines copied from OpenAI's docs). The local emulator and the AWS REQUEST authorizer
 * (`functions/authorizer/`) both read it with this one function, so they cannot disagree.
 */

/** The headers the key may come in; the authorizer's identity sources name the same ones. */
export const KEY_HEADERS = ['x-api-key', 'authorization'] as const;

const BEARER = /^bearer\s+(\S+)\s*$/i;

/**
 * The API key a request carries, or undefined when it carries none. `x-api-key` wins when
 * both are sent (an `openai` client given `defaultHeaders` sends both, with the same key).
 * Header names are matched case-insensitively, as HTTP does; an empty value counts as absent.
 *
 * @example
 * apiKeyOf({ Authorization: 'Bearer sk-1' }); // => 'sk-1'
 * apiKeyOf({ 'x-api-key': 'k', authorization: 'Bearer other' }); // => 'k'
 * apiKeyOf({ authorization: 'Basic abc' }); // => undefined
 */
export const apiKeyOf = (
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
): string | undefined => {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (value) lower[name.toLowerCase()] = value;
  const direct = lower['x-api-key']?.trim();
  if (direct) return direct;
  return BEARER.exec(lower.authorization ?? '')?.[1];
};

/**
 * The name of the usage plan the caller's key is in, where the gateway put it: the REQUEST
 * authorizer's context (`requestContext.authorizer.plan`, functions/authorizer/), which the
 * body-key step (functions/body-key.ts) and the emulator fill the same way. Undefined when
 * unknown: fair use then applies the stage's default allowances.
 *
 * @example
 * planOf({ authorizer: { apiKeyId: 'abc', plan: 'hf-serve-dev-pro' } }); // => 'hf-serve-dev-pro'
 * planOf({ authorizer: null }); // => undefined
 */
export const planOf = (requestContext: { authorizer?: Record<string, unknown> | null }): string | undefined => {
  const plan = requestContext.authorizer?.plan;
  return typeof plan === 'string' && plan ? plan : undefined;
};
