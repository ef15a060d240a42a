import type { Logger } from '@aws-lambda-powertools/logger';
import { logger } from '#observability/index.ts';
import { AppError } from '#runtime/errors.ts';
import { requestIdOf } from './request-id.ts';
import { json } from './response.ts';
import type { ApiMiddleware, ApiRequest } from './types.ts';

/**
 * The error body a route answers with: the product's envelope, OpenAI's on the OpenAI
 * routes, LibreTranslate's bare `{"error": "…"}` on the LibreTranslate routes.
 */
export type ErrorShape = 'default' | 'openai' | 'libretranslate';

const defaults = {
  /** Which error shape a request gets: OpenAI's for the OpenAI-compatible routes. */
  shapeOf: (_event: ApiRequest['event']): ErrorShape => 'default',
  logger: logger as Pick<Logger, 'error' | 'info'>,
};

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  504: 'deadline_exceeded',
};

const OPENAI_TYPE = (status: number): string =>
  status === 401
    ? 'authentication_error'
    : status === 403
      ? 'permission_error'
      : status === 404
        ? 'not_found_error'
        : status === 429
          ? 'rate_limit_error'
          : status < 500
            ? 'invalid_request_error'
            : 'server_error';

/** Normalises any thrown value to status, code, caller-facing message and headers. */
export const describeError = (
  error: unknown,
): {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  param?: string;
  headers: Record<string, string>;
  expose: boolean;
} => {
  if (error instanceof AppError) {
    return { ...error, status: error.status, code: error.code, message: error.message, headers: error.headers };
  }
  // Middy's HttpError (router: unknown route or method) carries statusCode and expose.
  const http = error as { statusCode?: number; expose?: boolean; message?: string };
  if (typeof http.statusCode === 'number' && http.statusCode < 500 && http.expose) {
    const status = http.statusCode;
    const message =
      status === 404 || status === 405
        ? 'No such route. See the API reference in README.md for the routes and methods.'
        : (http.message ?? 'Bad request');
    return { status, code: CODE_BY_STATUS[status] ?? 'bad_request', message, headers: {}, expose: true };
  }
  return { status: 500, code: 'internal_error', message: 'Internal error.', headers: {}, expose: false };
};

/**
 * OpenAI's error body `{"error":{"message","type","param","code"}}` for an error already
 * described; `type` follows the status (OpenAI's types), whether the error is answered as
 * the response or as the last event of a stream whose status line has already gone out.
 *
 * @example
 * openAIErrorBody(describeError(new ValidationError('n: too big', { param: 'n' })), 'n: too big');
 * // => { error: { message: 'n: too big', type: 'invalid_request_error', param: 'n', code: 'validation_error' } }
 */
export const openAIErrorBody = (info: ReturnType<typeof describeError>, message: string) => ({
  error: { message, type: OPENAI_TYPE(info.status), param: info.param ?? null, code: info.code },
});

/**
 * An error's body in a route's shape, for the envelope below and for anything else that
 * answers errors for a route (a function-side key check, the emulator).
 *
 * @example
 * errorBody('libretranslate', describeError(new ValidationError('q: required')), 'q: required', 'r-1');
 * // => { error: 'q: required' }
 */
export const errorBody = (
  shape: ErrorShape,
  info: ReturnType<typeof describeError>,
  message: string,
  requestId: string,
): Record<string, unknown> => {
  if (shape === 'openai') return openAIErrorBody(info, message);
  // LibreTranslate's clients read `error` as a string (LibreTranslate's app.py answers so).
  if (shape === 'libretranslate') return { error: message };
  return {
    error: {
      code: info.code,
      message,
      requestId,
      ...(info.details === undefined ? {} : { details: info.details }),
    },
  };
};

/** The message a caller sees: a client error's own, or a generic one with the request id to quote. */
export const callerMessage = (info: ReturnType<typeof describeError>, requestId: string): string =>
  info.expose ? info.message : `Internal error; quote request id ${requestId} when reporting it.`;

/** Logs an error as the envelope does: client errors at info, server errors whole. */
export const logError = (
  log: Pick<Logger, 'error' | 'info'>,
  info: ReturnType<typeof describeError>,
  error: unknown,
): void => {
  // `reason`, not `message`: Powertools reserves `message` (the line's own) and drops it with a warning.
  if (info.expose) log.info('client error', { status: info.status, code: info.code, reason: info.message });
  else log.error('request failed', error as Error);
};

/**
 * Turns every error into the JSON envelope of DESIGN.md (Contracts):
 * `{"error":{"code","message","requestId","details"?}}`, OpenAI's
 * `{"error":{"message","type","param","code"}}` on the OpenAI routes, LibreTranslate's
 * `{"error":"…"}` on the LibreTranslate routes (`errorBody`). Client errors
 * keep their message; server errors are logged whole and answered with a generic
 * message and the request id. Never a stack trace.
 */
export const errorEnvelope = (opts: Partial<typeof defaults> = {}): ApiMiddleware => {
  const options = { ...defaults, ...opts };
  const errorEnvelopeOnError = async (request: ApiRequest): Promise<void> => {
    if (request.response && request.response.statusCode < 400 && !request.error) return;
    const requestId = requestIdOf(request.event, request.context.awsRequestId);
    const info = describeError(request.error);
    logError(options.logger, info, request.error);
    const message = callerMessage(info, requestId);
    request.response = json(
      errorBody(options.shapeOf(request.event), info, message, requestId),
      info.status,
      info.headers,
    );
  };
  return { onError: errorEnvelopeOnError };
};
