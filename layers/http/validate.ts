import type * as z from 'zod';
import { ValidationError } from '#runtime/errors.ts';
import { echo, MAX_ISSUE_MESSAGE_CHARS, MAX_LISTED_ISSUES } from '#runtime/limits.ts';

const where = (path: PropertyKey[]): string =>
  path.length === 0
    ? 'body'
    : path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${echo(String(p))}`))
        .join('')
        .replace(/^\./, '');

/**
 * Validates input against a zod schema; the error names the first wrong field and
 * says what it should be, and `details` lists the problems: at most MAX_LISTED_ISSUES,
 * each message cut at MAX_ISSUE_MESSAGE_CHARS and each field name at MAX_ECHO_CHARS, so a
 * body of 90,000 unknown keys gets a short 400, not one that echoes them all.
 *
 * @example
 * parseInput(z.object({ text: z.string() }), {}); // throws ValidationError: "text: Invalid input: expected string, received undefined"
 */
export const parseInput = <S extends z.ZodType>(schema: S, input: unknown): z.infer<S> => {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const all = parsed.error.issues;
  const issues = all
    .slice(0, MAX_LISTED_ISSUES)
    .map((i) => ({ field: where(i.path), message: echo(i.message, MAX_ISSUE_MESSAGE_CHARS) }));
  if (all.length > MAX_LISTED_ISSUES)
    issues.push({ field: 'body', message: `${all.length - MAX_LISTED_ISSUES} more problems not listed` });
  const first = issues[0]!;
  throw new ValidationError(`${first.field}: ${first.message}`, { details: issues, param: first.field });
};
