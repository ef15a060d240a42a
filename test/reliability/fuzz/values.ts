import fc from 'fast-check';

/**
 * Hostile building blocks shared by every route's arbitraries: characters, strings,
 * JSON values, whole bodies, headers and query strings a careless or malicious client
 * may send. Kept apart from the routes' own (near-)valid shapes in `routes.ts`.
 */

/** Characters that break naive code: NUL, lone surrogates, bidi controls, joiners, emoji sequences. */
const SPECIAL_CHARS = [
  '\u0000',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\u202E',
  '\u200F',
  '\u061C',
  '\uFEFF',
  '\u200B',
  '\u2028',
  '\uFFFD',
  '\uFFFF',
  '\u0007',
  '\u001B',
  '👩‍👩‍👧‍👦',
  '🇫🇷',
  'e\u0301',
  'ﷺ',
  '\t',
  '\n',
  '\r\n',
  '"',
  '\\',
  '%',
  '{',
  '<',
];

export const hostileChar: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...SPECIAL_CHARS), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), weight: 3 },
);

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\uD800',
  'null',
  'undefined',
  'NaN',
  'true',
  '0',
  '8',
  '-1',
  '1e3',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '../../etc/passwd',
  '%s%n%x',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, sent as plain text
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  'مرحبا بالعالم',
  'שלום עולם',
  '\u202Egnp.exe',
  '日本語のテキスト',
  '😀😀😀',
];

/** Keys that pollute prototypes in code that merges objects naively. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf'];

/** Strings around the 5,000-character limit (UTF-16 units), in one and two units per character. */
const LIMIT_STRINGS = fc.constantFrom(4999, 5000, 5001, 12_000).map((n) => 'a'.repeat(n));
const LIMIT_EMOJI = fc.constantFrom(2500, 2501).map((n) => '😀'.repeat(n));

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: hostileChar, maxLength: 40 }), weight: 6 },
  { arbitrary: fc.constantFrom(...NASTY_STRINGS), weight: 3 },
  // Lookups by a caller's string in an object literal find Object.prototype's members.
  { arbitrary: fc.constantFrom(...PROTO_KEYS), weight: 2 },
  { arbitrary: LIMIT_STRINGS, weight: 1 },
  { arbitrary: LIMIT_EMOJI, weight: 1 },
);

/** Deeply nested arrays and objects, as values (the JSON parser and validator must not fall over). */
const nested = fc.integer({ min: 10, max: 2_000 }).map((depth) => {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
});

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      1.5,
      1e21,
      1e308,
      -1e308,
      2 ** 53 + 2,
      Number.MIN_VALUE,
      [],
      {},
      [null],
      [[]],
      { '': '' },
    ),
    weight: 4,
  },
  { arbitrary: hostileString, weight: 4 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: hostileChar }), weight: 2 },
  { arbitrary: nested, weight: 1 },
  // Lists around the batch limit (64) of texts a route would accept one by one.
  {
    arbitrary: fc.array(fc.constantFrom('hello', 'the file', 'bonjour le monde'), { minLength: 60, maxLength: 70 }),
    weight: 1,
  },
);

/** Number tokens only raw JSON text can carry (JSON.stringify never writes them), some of them invalid JSON. */
export const RAW_NUMBERS = [
  '1e400',
  '-1e400',
  '-0',
  '1E+999999',
  '123456789012345678901234567890',
  '0.000000000000000000000000000000000001',
  '4.9e-325',
  'NaN',
  'Infinity',
  '0x10',
  '01',
  '.5',
  '+1',
];

const POLLUTION = { polluted: 'yes', prototype: { polluted: 'yes' } };

type Json = unknown;
type Path = Array<string | number>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every path into a JSON value (objects' keys and arrays' indexes), outermost first. */
const pathsOf = (v: Json, at: Path = []): Path[] => {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...at, i], ...pathsOf(x, [...at, i])]);
  if (isObject(v)) return Object.entries(v).flatMap(([k, x]) => [[...at, k], ...pathsOf(x, [...at, k])]);
  return [];
};

/** Sets an own, enumerable key, `__proto__` included (plain assignment would change the prototype). */
const setOwn = (target: Record<string, unknown> | unknown[], key: string | number, value: unknown): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
};

const RAW_MARKER = 'fuzz-raw-token-7f3a';
const MUTATIONS = ['delete', 'replace', 'wrap', 'raw', 'proto', 'unknown', 'duplicate'] as const;

/**
 * A valid body with one thing changed, anywhere in it: a field deleted, replaced by a
 * hostile value or a raw number token, wrapped in a list, a prototype-polluting or
 * unknown sibling key added, or a key repeated with another value. Returned as JSON text.
 */
export const nearValid = (valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> =>
  valid.chain((body) => {
    const paths = pathsOf(body);
    return fc
      .record({
        path: paths.length ? fc.constantFrom(...paths) : fc.constant<Path>([]),
        op: fc.constantFrom(...MUTATIONS),
        value: hostileValue,
        raw: fc.constantFrom(...RAW_NUMBERS),
        key: fc.oneof(fc.constantFrom(...PROTO_KEYS), hostileString),
      })
      .map(({ path, op, value, raw, key }) => {
        const copy = structuredClone(body) as Record<string, unknown>;
        const last = path.at(-1);
        let parent: Record<string, unknown> | unknown[] = copy;
        for (const p of path.slice(0, -1)) parent = (parent as Record<string, unknown>)[p as string] as typeof parent;
        if (last === undefined) return JSON.stringify({ ...copy, [String(key)]: value });
        const at = parent as Record<string | number, unknown>;
        switch (op) {
          case 'delete':
            if (Array.isArray(parent)) parent.splice(Number(last), 1);
            else delete at[last];
            break;
          case 'replace':
            setOwn(parent, last, value);
            break;
          case 'wrap':
            setOwn(parent, last, [at[last]]);
            break;
          case 'raw':
            setOwn(parent, last, RAW_MARKER);
            return JSON.stringify(copy).replace(`"${RAW_MARKER}"`, raw);
          case 'proto':
            if (Array.isArray(parent)) setOwn(copy, key, POLLUTION);
            else setOwn(parent, PROTO_KEYS.includes(key) ? key : '__proto__', POLLUTION);
            break;
          case 'unknown':
            if (Array.isArray(parent)) parent.push(value);
            else setOwn(parent, key, value);
            break;
          case 'duplicate': {
            // JSON allows a key twice; the last one wins in JSON.parse, the first in some parsers.
            const text = JSON.stringify(copy);
            return text.replace(/^\{/, `{${JSON.stringify(String(path[0]))}:${JSON.stringify(value) ?? 'null'},`);
          }
        }
        return JSON.stringify(copy);
      });
  });

/** Bytes that are not valid UTF-8 (a lone continuation byte, an overlong NUL, a truncated sequence). */
const BAD_UTF8 = [Uint8Array.of(0x80), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xe2, 0x82), Uint8Array.of(0xff, 0xfe)];

/** Whole bodies that are not what any route expects: any JSON, no JSON, broken JSON, bytes. */
export const hostileBody = (valid?: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string | Uint8Array> => {
  const validText = (valid ?? fc.constant({ text: 'hello' })).map((b) => JSON.stringify(b));
  return fc.oneof(
    { arbitrary: fc.json({ maxDepth: 4, stringUnit: hostileChar }), weight: 4 },
    { arbitrary: fc.string({ unit: hostileChar, maxLength: 200 }), weight: 3 },
    {
      arbitrary: fc.constantFrom('', ' ', '\n', 'null', '[]', '{}', '""', '0', '{"', '{"text":}', '\uFEFF{}'),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(validText, fc.nat()).map(([t, n]) => t.slice(0, n % Math.max(1, t.length))),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(validText, fc.constantFrom(...BAD_UTF8), fc.nat()).map(([t, bad, n]) => {
        const bytes = Buffer.from(t, 'utf8');
        const at = n % Math.max(1, bytes.length);
        return Buffer.concat([bytes.subarray(0, at), bad, bytes.subarray(at)]);
      }),
      weight: 2,
    },
    { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.boolean(), fc.boolean())
        .map(([depth, objects, closed]) =>
          objects
            ? '{"a":'.repeat(depth) + (closed ? `1${'}'.repeat(depth)}` : '')
            : '['.repeat(depth) + (closed ? ']'.repeat(depth) : ''),
        ),
      weight: 1,
    },
    {
      arbitrary: validText.map((t) =>
        t.replace(/^\{/, '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},'),
      ),
      weight: 2,
    },
  );
};

/** Header values Node's HTTP client accepts: tab, printable ASCII and Latin-1. */
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }), fc.constant(0x09))
  .map((c) => String.fromCharCode(c));
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: headerChar, maxLength: 60 }),
  fc.constantFrom('', 'null', '*', 'gzip', 'br', '../..', '%00', 'a'.repeat(4000)),
);

const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/json;charset=latin1',
  'application/vnd.api+json',
  'application/merge-patch+json',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  '*/*',
  '',
  'application/jsonx',
  'json',
];

/** Mostly JSON, then near misses, then anything; `undefined` sends no Content-Type. */
export const contentType = (usual = 'application/json'): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { arbitrary: fc.constant(usual), weight: 8 },
    { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 3 },
    { arbitrary: headerValue, weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );

/** Headers the emulator, API Gateway or the HTTP client own, or that this suite sets itself. */
const RESERVED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'x-api-key',
  'content-type',
]);
const KNOWN_HEADERS = [
  'origin',
  'accept',
  'accept-language',
  'accept-encoding',
  'content-encoding',
  'authorization',
  'cookie',
  'user-agent',
  'referer',
  'x-forwarded-for',
  'x-request-id',
  'x-amzn-trace-id',
  'x-http-method-override',
  'access-control-request-method',
];
const headerName = fc.oneof(
  fc.constantFrom(...KNOWN_HEADERS),
  fc.stringMatching(/^x-[a-z0-9-]{1,16}$/).filter((n) => !RESERVED.has(n)),
);
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(headerName, headerValue, {
  maxKeys: 4,
});

/** Percent-encodes every UTF-8 byte outside the unreserved set (lone surrogates become U+FFFD's bytes). */
export const percentEncode = (s: string): string =>
  [...Buffer.from(s, 'utf8')]
    .map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16)}`))
    .join('');

/** Query strings that are not percent-encoded correctly, or oddly shaped. */
const RAW_QUERIES = ['%', '%zz', '%E0%A4%A', 'a=%FF', '&&&', '=', 'a&a&a', '%00=%00', '+=+', '?', 'a=1;b=2', ';;'];

/** A query string (without `?`) built from `known` parameters, hostile ones and broken encodings. */
export const hostileQuery = (known: string[] = []): fc.Arbitrary<string> =>
  fc.oneof(
    {
      arbitrary: fc
        .array(fc.tuple(fc.oneof(fc.constantFrom(...known, ...PROTO_KEYS), hostileString), hostileString), {
          maxLength: 5,
        })
        .map((pairs) => pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&')),
      weight: 4,
    },
    { arbitrary: fc.constantFrom(...RAW_QUERIES), weight: 1 },
  );

/** A valid query with one parameter changed, removed, repeated or added. */
export const nearValidQuery = (valid: fc.Arbitrary<Record<string, string>>): fc.Arbitrary<string> =>
  valid.chain((q) => {
    const keys = Object.keys(q);
    return fc
      .record({
        key: keys.length ? fc.constantFrom(...keys) : fc.constant('x'),
        op: fc.constantFrom('replace', 'delete', 'repeat', 'add', 'raw'),
        value: hostileString,
        extra: fc.oneof(fc.constantFrom(...PROTO_KEYS), hostileString),
        raw: fc.constantFrom(...RAW_QUERIES),
      })
      .map(({ key, op, value, extra, raw }) => {
        const pairs = Object.entries(q);
        const at = pairs.findIndex(([k]) => k === key);
        if (op === 'replace' && at >= 0) pairs[at] = [key, value];
        if (op === 'delete' && at >= 0) pairs.splice(at, 1);
        if (op === 'repeat') pairs.push([key, value]);
        if (op === 'add') pairs.push([extra, value]);
        const text = pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
        return op === 'raw' ? `${text}&${key}=${raw}` : text;
      });
  });
