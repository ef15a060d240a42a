/**
 * The most bytes one character of a text may take in a JSON body: a control character
 * escaped as `\u001f` (any other is at most 3 bytes of UTF-8 per UTF-16 unit, which is
 * what MAX_TEXT_CHARS counts).
 */
export const MAX_JSON_BYTES_PER_CHAR = 6;
/** Room in a body for everything but the texts: field names, model, options, whitespace. */
export const BODY_OVERHEAD_BYTES = 65_536;

/**
 * The largest valid request body, from the limits the functions validate with: a full
 * batch of full-length texts of the widest characters, plus the rest of the body. The
 * functions answer 413 above it (MAX_BODY_BYTES, which defaults to this); the stages give
 * the functions the same number, and WAF, which inspects only the first 64 KB of an API
 * Gateway body, enforces no size of its own.
 *
 * @example
 * maxRequestBodyBytes({ maxTextChars: 5000, maxBatchSize: 64 }); // => 1985536
 */
export const maxRequestBodyBytes = (limits: { maxTextChars: number; maxBatchSize: number }): number =>
  limits.maxBatchSize * limits.maxTextChars * MAX_JSON_BYTES_PER_CHAR + BODY_OVERHEAD_BYTES;

/**
 * The longest short string field a route takes (language codes, model ids and references,
 * stop strings, names, roles, dates, page tokens): everything that is not a text. Checked
 * by the schemas before any work, so no computation grows with such a field.
 */
export const MAX_FIELD_CHARS = 256;
/** The most characters of a caller's value an error message or `details` echoes back. */
export const MAX_ECHO_CHARS = 64;
/** The most problems one validation error lists in `details` (the rest are counted). */
export const MAX_LISTED_ISSUES = 20;
/** The longest error message a validation issue carries (zod lists unknown keys in it). */
export const MAX_ISSUE_MESSAGE_CHARS = 300;

/**
 * A caller's value as an error may echo it: at most `max` characters, with the number
 * left out said.
 *
 * @example
 * echo('x'.repeat(100), 4); // => 'xxxx… (96 more characters)'
 */
export const echo = (value: string, max = MAX_ECHO_CHARS): string =>
  value.length <= max ? value : `${value.slice(0, max)}… (${value.length - max} more characters)`;
