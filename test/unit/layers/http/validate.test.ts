import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { parseInput } from '#http/validate.ts';
import { ValidationError } from '#runtime/errors.ts';
import { MAX_ISSUE_MESSAGE_CHARS, MAX_LISTED_ISSUES } from '#runtime/limits.ts';

const caught = (fn: () => unknown): ValidationError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
};

describe('parseInput', () => {
  it('answers 90,000 unknown keys with a short error, not one that echoes them all', () => {
    const body = Object.fromEntries(Array.from({ length: 90_000 }, (_, i) => [`key-${i}-${'k'.repeat(10)}`, 1]));

    const error = caught(() => parseInput(z.strictObject({ text: z.string().optional() }), body));

    const size = JSON.stringify({ message: error.message, details: error.details }).length;
    expect(size).toBeLessThan(2 * MAX_ISSUE_MESSAGE_CHARS + 500);
    expect(error.message).toMatch(/more characters\)$/);
  });

  it('lists at most MAX_LISTED_ISSUES problems and counts the rest', () => {
    const schema = z.array(z.number());
    const error = caught(() => parseInput(schema, Array(500).fill('x')));

    const details = error.details as Array<{ field: string; message: string }>;
    expect(details).toHaveLength(MAX_LISTED_ISSUES + 1);
    expect(details.at(-1)).toEqual({ field: 'body', message: `${500 - MAX_LISTED_ISSUES} more problems not listed` });
    expect(details[0]).toEqual({ field: '[0]', message: 'Invalid input: expected number, received string' });
  });

  it('cuts a long field name in the path it echoes', () => {
    const long = 'f'.repeat(10_000);
    const error = caught(() => parseInput(z.record(z.string(), z.number()), { [long]: 'x' }));

    expect(error.message.length).toBeLessThan(400);
    expect(error.message.startsWith(`${'f'.repeat(64)}… (9936 more characters)`)).toBe(true);
  });
});
