import { z } from 'zod';

/**
 * What the OpenAPI document (`functions/openapi.ts`) says about one route; the route
 * table (`functions/routes.ts`) says where the route is and which function serves it.
 * The schemas are the objects the handlers validate with, so the document cannot drift
 * from what the API accepts; the response schemas are checked against real answers by
 * `test/integration/openapi.test.ts`.
 */
export interface OperationDoc {
  summary: string;
  description?: string;
  /** The JSON body of a POST. */
  body?: z.ZodType;
  /** The body may also be form-encoded (the LibreTranslate routes, as their `form` route option says). */
  form?: boolean;
  /** The query string of a GET. */
  query?: z.ZodObject;
  /** Path parameters (`/v1/models/{id}`). */
  path?: z.ZodObject;
  /** The 200 answer. */
  response: z.ZodType;
  /** The chunk each Server-Sent Event carries when the request asks for `"stream": true`. */
  streamChunk?: z.ZodType;
  /**
   * Request examples by name: the body of a POST, or the query and path parameters of a
   * GET. The test sends every one of them to the real handler and expects a 2xx.
   */
  examples?: Record<string, { summary: string; value: Record<string, unknown> }>;
}

/** Operations of one capability, keyed `"<METHOD> <path>"` as in the route table. */
export type Operations = Record<string, OperationDoc>;

export const routeKey = (method: string, path: string): string => `${method} ${path}`;

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
