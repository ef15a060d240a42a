import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '#runtime/errors.ts';
import type { ApiMiddleware, ApiRequest } from './types.ts';

const defaults = {
  maxBytes: 1_048_576,
  /** Requests that may also send `application/x-www-form-urlencoded` (LibreTranslate clients do). */
  acceptsForm: (_event: ApiRequest['event']): boolean => false,
};
const JSON_TYPE = /^application\/(.+\+)?json\s*($|;)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*($|;)/i;

/**
 * A form body as JSON would carry it: a repeated field becomes a list. Collected in a Map
 * so a field named `__proto__` or `constructor` is data, as JSON.parse keeps it.
 */
const parseForm = (text: string): Record<string, string | string[]> => {
  const fields = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(text)) fields.set(key, [...(fields.get(key) ?? []), value]);
  return Object.fromEntries([...fields].map(([k, v]) => [k, v.length === 1 ? v[0]! : v]));
};

/**
 * Parses JSON bodies of POST requests. Written here rather than using
 * @middy/http-json-body-parser because that one answers malformed JSON with 415
 * ("Unsupported Media Type"), which points the caller at the wrong fix; this one says
 * 415 only for a wrong Content-Type and 400 with the parser's position for bad JSON.
 * Expects normalized (lowercase) header names (@middy/http-header-normalizer).
 */
export const jsonBody = (opts: Partial<typeof defaults> = {}): ApiMiddleware => {
  const options = { ...defaults, ...opts };
  const jsonBodyBefore = async (request: ApiRequest): Promise<void> => {
    const { event } = request;
    if (event.httpMethod !== 'POST') return;
    const raw = typeof event.body === 'string' ? event.body : '';
    const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    if (Buffer.byteLength(text) > options.maxBytes) {
      throw new PayloadTooLargeError(
        `Request body is larger than ${options.maxBytes} bytes; split the batch into smaller requests.`,
      );
    }
    const contentType = event.headers?.['content-type'];
    if (contentType && FORM_TYPE.test(contentType) && options.acceptsForm(event)) {
      event.body = parseForm(text);
      event.isBase64Encoded = false;
      return;
    }
    if (!contentType || !JSON_TYPE.test(contentType)) {
      throw new UnsupportedMediaTypeError(
        `Content-Type must be application/json (got ${contentType ? JSON.stringify(contentType) : 'none'}); send a JSON body with "Content-Type: application/json".`,
      );
    }
    if (text.trim() === '')
      throw new BadRequestError('Request body is empty; send a JSON object, e.g. {"text": "..."}.');
    try {
      event.body = JSON.parse(text);
    } catch (cause) {
      throw new BadRequestError(`Malformed JSON body: ${(cause as Error).message}. Send a valid JSON object.`, {
        cause,
      });
    }
    event.isBase64Encoded = false;
  };
  return { before: jsonBodyBefore };
};
