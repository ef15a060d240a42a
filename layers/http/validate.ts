import type { z } from 'zod';
import { ValidationError } from '#runtime/errors.ts';

const where = (path: PropertyKey[]): string =>
  path.length === 0
    ? 'body'
    : path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '');

/**
 * Validates input against a zod schema; the error names the first wrong field and
 * says what it should be, and `details` lists every problem.
 *
 * @example
 * parseInput(z.object({ text: z.string() }), {}); // throws ValidationError: "text: Invalid input: expected string, received undefined"
 */
export const parseInput = <S extends z.ZodType>(schema: S, input: unknown): z.infer<S> => {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ field: where(i.path), message: i.message }));
  const first = issues[0]!;
  throw new ValidationError(`${first.field}: ${first.message}`, { details: issues, param: first.field });
};
