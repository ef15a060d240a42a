import { z } from 'zod';
import { type Config, config } from '#runtime/config.ts';

/**
 * Builds a value once per configuration: the handlers and the OpenAPI document
 * (`functions/openapi.ts`) get the very same schema objects, and a test or the emulator
 * that replaces the configuration gets schemas with its limits.
 *
 * @example
 * const schemas = perConfig(() => ({ Body: z.object({ text: textField() }) }));
 * schemas() === schemas(); // => true (until setConfig is called)
 */
export const perConfig = <T>(build: (c: Config) => T): (() => T) => {
  let built: { for: Config; value: T } | undefined;
  return () => {
    const c = config();
    if (built?.for !== c) built = { for: c, value: build(c) };
    return built.value;
  };
};

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
    })
    .meta({ description: `A text: not blank, at most ${max} characters.`, minLength: 1, maxLength: max });
};

export const textsField = () => {
  const max = config().MAX_BATCH_SIZE;
  return z
    .array(textField(), { error: 'must be an array of strings' })
    .min(1, 'must hold at least one text')
    .max(max, `must hold at most ${max} texts; split the batch into several requests`);
};

/** A body that takes one `text` or a list of `texts`, never both and never neither; `issue` words the refusal. */
export const oneTextOrTexts = <S extends z.ZodObject>(
  schema: S,
  issue: { message: string; path?: string[] } = { message: 'send either "text" (one string) or "texts" (a list)' },
): S =>
  schema
    .refine((b) => {
      const { text, texts } = b as { text?: unknown; texts?: unknown };
      return (text === undefined) !== (texts === undefined);
    }, issue)
    .meta({ description: 'Give either `text` or `texts`.' });

export const modelField = () =>
  z
    .string({ error: 'must be a string: "name", "name@version" or "name@alias"' })
    .min(1)
    .optional()
    .meta({ description: 'The model: "name" (its prod alias), "name@version" or "name@alias".' });
