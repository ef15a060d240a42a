import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { CAPABILITY_SPECS } from '#functions/routes.ts';
import { shortString } from '#functions/schemas.ts';
import { config } from '#runtime/config.ts';
import { MAX_FIELD_CHARS } from '#runtime/limits.ts';

type Json = { [k: string]: unknown };

/** Every string schema under a JSON schema node, with the path it sits at. */
const strings = (node: unknown, path: string, out: Array<{ path: string; schema: Json }> = []) => {
  if (Array.isArray(node))
    node.forEach((n, i) => {
      strings(n, `${path}[${i}]`, out);
    });
  else if (node && typeof node === 'object') {
    const o = node as Json;
    if (o.type === 'string' && o.enum === undefined && o.const === undefined) out.push({ path, schema: o });
    for (const [k, v] of Object.entries(o)) strings(v, `${path}.${k}`, out);
  }
  return out;
};

const inputs = CAPABILITY_SPECS.flatMap((c) =>
  Object.entries(c.routes).flatMap(([name, spec]) =>
    (['body', 'query', 'params'] as const).flatMap((part) => {
      const build = (spec as Partial<Record<typeof part, () => z.ZodType>>)[part];
      return build ? [{ route: `${c.name}.${name}.${part}`, schema: build() }] : [];
    }),
  ),
);

describe('route input schemas', () => {
  it('bound every string field of every route (codes, model ids, stop strings, names, roles, texts)', () => {
    const unbounded: string[] = [];
    let checked = 0;
    for (const { route, schema } of inputs) {
      for (const s of strings(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), route)) {
        checked += 1;
        const max = s.schema.maxLength;
        if (typeof max !== 'number' || max > Math.max(config().MAX_TEXT_CHARS, 1024)) unbounded.push(s.path);
      }
    }

    expect(checked).toBeGreaterThan(20);
    expect(unbounded).toEqual([]);
  });

  it('refuses a short field past MAX_FIELD_CHARS, naming the limit', () => {
    const parsed = shortString('must be a string', 'a language code').safeParse('x'.repeat(MAX_FIELD_CHARS + 1));

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe(
      `must be at most ${MAX_FIELD_CHARS} characters, as a language code value always is`,
    );
    expect(shortString().safeParse('x'.repeat(MAX_FIELD_CHARS)).success).toBe(true);
  });
});
