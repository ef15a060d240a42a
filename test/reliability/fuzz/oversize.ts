import { CAPABILITY_SPECS } from '#functions/routes.ts';
import type { RouteExample, RouteSpec } from '#functions/spec.ts';
import type { FuzzRequest } from './routes.ts';

/**
 * Length and size attacks on every field of every route: each route's own examples
 * (the ones its spec declares), with one string field at a time replaced by a huge value,
 * and bodies with huge arrays or key counts. Every answer must be a small 4xx, fast.
 */
export interface OversizeCase {
  name: string;
  req: Omit<FuzzRequest, 'kind'>;
  /** Routes whose clients send extra fields (OpenAI, LibreTranslate) ignore unknown keys: a 2xx is right there. */
  mayAnswer?: boolean;
}

/** As long as the attack: ~1 MB, under the body limit so the function itself sees it. */
export const HUGE_BODY_FIELD = 1_040_000;
/** Query strings and paths travel in the request line: long, but under Node's 16 KB header limit. */
export const HUGE_URL_FIELD = 8_000;

type Leaf = { path: (string | number)[] };
const leaves = (v: unknown, path: (string | number)[] = [], out: Leaf[] = []): Leaf[] => {
  if (typeof v === 'string') out.push({ path });
  else if (Array.isArray(v))
    v.forEach((x, i) => {
      leaves(x, [...path, i], out);
    });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) leaves(x, [...path, k], out);
  return out;
};
const replaced = (v: unknown, path: (string | number)[], by: unknown): unknown => {
  if (path.length === 0) return by;
  const [head, ...rest] = path;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[head as string] = replaced(copy[head as string], rest, by);
  return copy;
};

const getRequest = (path: string, value: Record<string, unknown>, key: string): Omit<FuzzRequest, 'kind'> => {
  const rest = { ...value };
  const concrete = path.replace(/\{(\w+)\}/g, (_, p: string) => {
    const v = String(rest[p] ?? 'x');
    delete rest[p];
    return encodeURIComponent(v);
  });
  const qs = new URLSearchParams(Object.entries(rest).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return { method: 'GET', path: qs ? `${concrete}?${qs}` : concrete, headers: { 'x-api-key': key } };
};

const postRequest = (path: string, body: unknown, key: string): Omit<FuzzRequest, 'kind'> => ({
  method: 'POST',
  path,
  headers: { 'content-type': 'application/json', 'x-api-key': key },
  body: JSON.stringify(body),
});

/** Every length attack on every field of every route's examples, plus size attacks on the bodies. */
export const oversizeCases = (key: string): OversizeCase[] =>
  CAPABILITY_SPECS.flatMap((c) =>
    Object.values(c.routes as Record<string, RouteSpec>).flatMap((spec) => {
      const examples: RouteExample[] = spec.examples ? Object.values(spec.examples()) : [];
      return examples.flatMap(({ summary, value }) => {
        const name = (what: string) => `${spec.method} ${spec.path} (${summary}): ${what}`;
        const fields = leaves(value).map(({ path }) => {
          const huge = 'x'.repeat(spec.method === 'GET' ? HUGE_URL_FIELD : HUGE_BODY_FIELD);
          const v = replaced(value, path, huge) as Record<string, unknown>;
          return {
            name: name(`${path.join('.')} of ${huge.length} chars`),
            req: spec.method === 'GET' ? getRequest(spec.path, v, key) : postRequest(spec.path, v, key),
          };
        });
        if (spec.method === 'GET') return fields;
        const manyKeys = { ...value, ...Object.fromEntries(Array.from({ length: 90_000 }, (_, i) => [`k${i}`, 1])) };
        const arrays = leaves(value)
          .filter(({ path }) => typeof path.at(-1) === 'number')
          .map(({ path }) => path.slice(0, -1))
          .filter((p, i, all) => all.findIndex((q) => q.join('.') === p.join('.')) === i)
          .map((p) => ({
            name: name(`${p.join('.')} with 100,000 items`),
            req: postRequest(spec.path, replaced(value, p, Array(100_000).fill('ok')), key),
          }));
        return [
          ...fields,
          ...arrays,
          { name: name('90,000 unknown keys'), req: postRequest(spec.path, manyKeys, key), mayAnswer: true },
        ];
      });
    }),
  );
