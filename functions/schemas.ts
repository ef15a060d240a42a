import * as z from 'zod';
import { type Config, config } from '#runtime/config.ts';
import { MAX_FIELD_CHARS } from '#runtime/limits.ts';

/**
 * Schemas every capability shares: the error envelopes, the model and request-id fields of
 * answers, and the input fields built from the configured limits.
 */

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

/**
 * A short string field (a code, a model reference, a name, a role, a stop string, a date):
 * at most MAX_FIELD_CHARS characters, checked before anything else looks at it. Every
 * string a route takes that is not a text is built from this.
 *
 * @example
 * shortString().safeParse('x'.repeat(257)).success; // => false
 */
export const shortString = (error = 'must be a string', what = 'a') =>
  z.string({ error }).max(MAX_FIELD_CHARS, `must be at most ${MAX_FIELD_CHARS} characters, as ${what} value always is`);

export const modelField = () =>
  shortString('must be a string: "name", "name@version" or "name@alias"', 'a model reference')
    .min(1)
    .optional()
    .meta({ description: 'The model: "name" (its prod alias), "name@version" or "name@alias".' });

/** The per-request result-cache opt-out. */
export const cacheField = () =>
  z
    .boolean({ error: 'must be true or false' })
    .optional()
    .meta({ description: 'false: skip the result cache (neither read nor stored). Default true.' });

/** Whether an answer came from the result cache (only ever this caller key's earlier answers). */
export const Cached = z
  .boolean()
  .meta({ description: "Answered from the result cache (this key's own earlier requests)." });

export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable machine-readable code: validation_error, unknown_model, …' }),
      message: z.string().meta({ description: 'What went wrong and how to fix the request (4xx).' }),
      requestId: z.string().meta({ description: 'Quote it when reporting a problem.' }),
      details: z.unknown().optional().meta({
        description: 'validation_error: every problem as [{field, message}]; other codes: context such as suggestions.',
      }),
    }),
  })
  .meta({
    id: 'Error',
    description: 'The error envelope of every route but the OpenAI-compatible ones, and of API Gateway itself.',
  });

export const OpenAIError = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string().meta({ description: 'invalid_request_error, not_found_error, server_error, …' }),
      param: z.string().nullable().meta({ description: 'The request field at fault.' }),
      code: z.string().nullable(),
    }),
  })
  .meta({ id: 'OpenAIError', description: "OpenAI's error shape, answered by /v1/models and the completions routes." });

/** LibreTranslate's `api_key` body field: accepted as its clients send it (the key layer checks keys). */
export const apiKeyField = () =>
  shortString('must be a string', 'an API key')
    .optional()
    .meta({ description: 'The API key, where LibreTranslate clients send it (headers work too).' });

export const LibreTranslateError = z
  .object({ error: z.string().meta({ description: 'What went wrong and how to fix the request (4xx).' }) })
  .meta({
    id: 'LibreTranslateError',
    description: "LibreTranslate's error shape, answered by the LibreTranslate-compatible routes.",
  });

/** A model as the answers name it. */
export const ModelVersion = z
  .object({ name: z.string(), version: z.string() })
  .meta({ id: 'ModelVersion', description: 'The model and the version that answered.' });

export const RequestId = z
  .string()
  .meta({ description: "API Gateway's request id; the prediction log is keyed by it." });

/** A detected language as the LibreTranslate-compatible routes answer it. */
export const LibreDetection = z
  .object({
    language: z.string().meta({ description: 'ISO 639-1 where the language has one.' }),
    confidence: z.number().meta({ description: 'Percent, 0..100.' }),
  })
  .meta({ id: 'LibreDetection' });

/** One Hugging Face import job (`GET /v1/imports/{org}/{name}`, and the 202 of a route naming a model being imported). */
export const ImportJobView = z
  .object({
    id: z.string().meta({ description: '`org/name@revision`: one job per id.' }),
    repo: z.string(),
    revision: z.string(),
    status: z.enum(['queued', 'importing', 'done', 'failed']),
    statusUrl: z.string().meta({ description: 'Where to poll (also the 202’s `Location`).' }),
    task: z.string().optional(),
    reason: z.string().optional().meta({ description: 'Failed: why, and what to do.' }),
    model: z
      .string()
      .optional()
      .meta({ description: 'Done: the registry model (`org--name@<sha12>`) it is served as.' }),
    commit: z.string().optional().meta({ description: 'Done: the Hub commit the revision resolved to.' }),
    retryAt: z
      .string()
      .optional()
      .meta({ description: 'Failed: a request naming the model after this time imports it again.' }),
    updatedAt: z.string(),
  })
  .meta({ id: 'ImportJob' });
