import { render } from 'velocityjs';

/**
 * API Gateway's mapping templates rendered with a VTL engine (velocityjs) and the part of
 * `$util` they use. `$util.escapeJavaScript` follows Apache Commons Lang's
 * `StringEscapeUtils.escapeJavaScript`, the Java method API Gateway documents it as: quotes
 * (`'` too), backslash and `/` get a backslash, control characters their short escape or
 * `\u00XX`, and every character above 0x7f `\uXXXX` (upper-case hex). Its result is a
 * Java string, so `.replaceAll` takes a regular expression.
 */
class JavaString {
  constructor(private readonly value: string) {}
  replaceAll(regex: string, replacement: string): JavaString {
    return new JavaString(this.value.replace(new RegExp(regex, 'g'), replacement));
  }
  toString(): string {
    return this.value;
  }
}

const SHORT: Record<string, string> = { '\b': '\\b', '\n': '\\n', '\t': '\\t', '\f': '\\f', '\r': '\\r' };
const hex = (code: number) => code.toString(16).toUpperCase().padStart(4, '0');

/**
 * @example
 * escapeJavaScript(`it's "é"\n`).toString(); // => "it\\'s \\\"\\u00E9\\\"\\n"
 */
export const escapeJavaScript = (input: unknown): JavaString => {
  let out = '';
  for (const ch of String(input)) {
    for (let i = 0; i < ch.length; i++) {
      const c = ch.charCodeAt(i);
      const s = ch[i] ?? '';
      if (c > 0x7f) out += `\\u${hex(c)}`;
      else if (c < 32) out += SHORT[s] ?? `\\u${hex(c)}`;
      else if (s === "'" || s === '"' || s === '\\' || s === '/') out += `\\${s}`;
      else out += s;
    }
  }
  return new JavaString(out);
};

/**
 * Renders a gateway-response or integration template with `$context` values.
 *
 * @example
 * renderTemplate('{"id":"$context.requestId"}', { requestId: 'r1' }); // => '{"id":"r1"}'
 */
export const renderTemplate = (template: string, context: Record<string, unknown>): string =>
  render(template, { context, util: { escapeJavaScript } });
