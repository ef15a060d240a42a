import { z } from 'zod';
import { config } from '#runtime/config.ts';

/**
 * Input schemas shared by the capabilities' routes, built from the configured limits so
 * every message names the limit that applies.
 */
export const textField = () => {
  const max = config().MAX_TEXT_CHARS;
  return z
    .string({ error: 'must be a string' })
    .refine((s) => s.trim().length > 0, 'must not be empty or only whitespace')
    .superRefine((s, ctx) => {
      if (s.length > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be at most ${max} characters (got ${s.length}); split the text or send it as several items`,
        });
      }
    });
};

export const textsField = () => {
  const max = config().MAX_BATCH_SIZE;
  return z
    .array(textField(), { error: 'must be an array of strings' })
    .min(1, 'must hold at least one text')
    .max(max, `must hold at most ${max} texts; split the batch into several requests`);
};

export const modelField = () =>
  z.string({ error: 'must be a string: "name", "name@version" or "name@alias"' }).min(1).optional();

/** Process start to first answer, measured once per container. */
let coldStartMs: number | undefined;
export const markAnswered = (): void => {
  coldStartMs ??= Math.round(process.uptime() * 1000);
};
export const coldStart = (): number | undefined => coldStartMs;
