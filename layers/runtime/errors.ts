/**
 * Errors with a purpose. Every error the product raises on purpose is an `AppError`:
 * it carries the HTTP status, a stable machine-readable `code`, and a message that says
 * how to fix the problem. `expose` is true for client errors (4xx): their message is
 * shown to the caller. Server errors (5xx) are logged whole and shown as a generic
 * message with the request id.
 *
 * Plain TypeScript: no Lambda or Middy types, so tasks, the runtime and the CLI can
 * throw them too.
 */
export interface AppErrorOptions {
  cause?: unknown;
  details?: unknown;
  /** OpenAI error `param`: the request field at fault. */
  param?: string;
  headers?: Record<string, string>;
}

/** An error's message, or the thrown value as text when it is not an Error (for logs and wrapped messages). */
export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  readonly param?: string;
  readonly headers: Record<string, string>;
  readonly expose: boolean;

  constructor(status: number, code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.param = options.param;
    this.headers = options.headers ?? {};
    this.expose = status < 500;
  }
}

/** The request is well-formed JSON but a field is missing or wrong. */
export class ValidationError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(400, 'validation_error', message, options);
  }
}

/** The body is not parseable, or not the content type the route accepts. */
export class BadRequestError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(400, 'bad_request', message, options);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(415, 'unsupported_media_type', message, options);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(413, 'payload_too_large', message, options);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(404, 'not_found', message, options);
  }
}

/** A model name, version or alias that the registry does not know. */
export class UnknownModelError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(400, 'unknown_model', message, { param: 'model', ...options });
  }
}

/**
 * A model reference that can never name a model (not `name`, `name@version` or
 * `name@alias`): a 400 on every route, also where an unknown but well-formed model is a
 * 404 (OpenAI's routes).
 */
export class InvalidModelRefError extends UnknownModelError {}

/** A model an OpenAI-compatible route does not serve: OpenAI answers 404 `model_not_found`. */
export class ModelNotFoundError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(404, 'model_not_found', message, { param: 'model', ...options });
  }
}

/** The model exists but cannot be loaded right now (fetch failed, cache busy). */
export class ModelUnavailableError extends AppError {
  constructor(message: string, options: AppErrorOptions & { retryAfterSeconds?: number } = {}) {
    super(503, 'model_unavailable', message, {
      ...options,
      headers: { 'Retry-After': String(options.retryAfterSeconds ?? 5), ...options.headers },
    });
  }
}

/** A downloaded file does not match the sha256 its manifest pins: never served. */
export class ChecksumMismatchError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(502, 'checksum_mismatch', message, options);
  }
}

/** The work would outlive the function's deadline. */
export class DeadlineExceededError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(504, 'deadline_exceeded', message, options);
  }
}

/**
 * The client went away (closed its connection, cancelled its stream): the reason an
 * invocation's signal aborts with, so the work stops. Nobody reads the answer; 499 is
 * nginx's "client closed request", what the records and logs say.
 */
export class ClientClosedError extends AppError {
  constructor(message = 'The client closed the connection before the answer was complete.') {
    super(499, 'client_closed_request', message);
  }
}

/**
 * A setting that cannot work: an invalid environment variable, a folder that does not
 * exist, a port in use. Not an HTTP error: it stops a cold start or `npm start`, and its
 * message (which names the setting and how to fix it) is all a person needs, so the
 * local emulator prints it without a stack trace.
 */
export class ConfigurationError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** Formats a list of valid options the way error messages show them. */
export const oneOf = (values: readonly string[], max = 20): string => {
  const shown = values.slice(0, max).map((v) => JSON.stringify(v));
  return `[${shown.join(', ')}${values.length > max ? `, … ${values.length - max} more` : ''}]`;
};
