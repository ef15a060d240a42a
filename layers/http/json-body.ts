import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '#runtime/errors.ts';
import type { ApiMiddleware, ApiRequest } from './types.ts';

const defaults = {
  maxBytes: 1_048_576,
  /**
   * Requests that may also send a form: `application/x-www-form-urlencoded` (LibreTranslate-py)
   * or `multipart/form-data` (LibreTranslate's own web page posts a `FormData`).
   */
  acceptsForm: (_event: ApiRequest['event']): boolean => false,
};
const JSON_TYPE = /^application\/(.+\+)?json\s*($|;)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*($|;)/i;
const MULTIPART_TYPE = /^multipart\/form-data\s*;/i;

/**
 * A form body as JSON would carry it: a repeated field becomes a list. Collected in a Map
 * so a field named `__proto__` or `constructor` is data, as JSON.parse keeps it.
 */
const collect = (entries: Iterable<[string, string]>): Record<string, string | string[]> => {
  const fields = new Map<string, string[]>();
  for (const [key, value] of entries) fields.set(key, [...(fields.get(key) ?? []), value]);
  return Object.fromEntries([...fields].map(([k, v]) => [k, v.length === 1 ? v[0]! : v]));
};
const parseForm = (text: string) => collect(new URLSearchParams(text));

/**
 * A `multipart/form-data` body's fields, parsed by the platform's own parser (undici's
 * `Response.formData()`, the one `fetch` uses) rather than by hand. Only text fields are
 * data here: a file part is refused, since no route takes a file.
 */
const parseMultipart = async (bytes: Buffer, contentType: string): Promise<Record<string, string | string[]>> => {
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
  } catch (cause) {
    throw new BadRequestError(
      'Malformed multipart/form-data body: its parts do not match the boundary in Content-Type. Send a FormData, a url-encoded form or JSON.',
      { cause },
    );
  }
  const fields: Array<[string, string]> = [];
  for (const [key, value] of form) {
    if (typeof value !== 'string') {
      throw new BadRequestError(
        `Field ${JSON.stringify(key.slice(0, 64))} is a file; send text fields only (file translation is not offered).`,
      );
    }
    fields.push([key, value]);
  }
  return collect(fields);
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
    const bytes = Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8');
    const text = event.isBase64Encoded ? bytes.toString('utf8') : raw;
    if (bytes.byteLength > options.maxBytes) {
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
    if (contentType && MULTIPART_TYPE.test(contentType) && options.acceptsForm(event)) {
      event.body = await parseMultipart(bytes, contentType);
      event.isBase64Encoded = false;
      return;
    }
    if (!contentType || !JSON_TYPE.test(contentType)) {
      const got = contentType ? JSON.stringify(contentType.slice(0, 100)) : 'none';
      throw new UnsupportedMediaTypeError(
        options.acceptsForm(event)
          ? `Content-Type must be application/json, application/x-www-form-urlencoded or multipart/form-data (got ${got}); send JSON with "Content-Type: application/json" or a form.`
          : `Content-Type must be application/json (got ${got}); send a JSON body with "Content-Type: application/json".`,
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
