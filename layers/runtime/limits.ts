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
