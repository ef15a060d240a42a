import fc from 'fast-check';
import type { RouteDef } from '#functions/routes.ts';
import {
  contentType,
  extraHeaders,
  hostileBody,
  hostileChar,
  hostileQuery,
  hostileString,
  nearValid,
  nearValidQuery,
  PROTO_KEYS,
  percentEncode,
} from './values.ts';

/** One HTTP request as the fuzzer sends it. */
export interface FuzzRequest {
  method: 'GET' | 'POST';
  /** Path and query string. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** What kind of case this is, for the per-route statistics. */
  kind: 'hostile' | 'near-valid' | 'valid';
}

/** What a route's arbitrary is built from: valid bodies, queries or path parameters. */
interface RouteShape {
  body?: fc.Arbitrary<Record<string, unknown>>;
  query?: fc.Arbitrary<Record<string, string>>;
  /** The concrete path, for routes with path parameters. */
  path?: fc.Arbitrary<string>;
  /** Form-encoded bodies are accepted too (LibreTranslate routes). */
  form?: boolean;
}

export const routeKey = (r: Pick<RouteDef, 'method' | 'path'>): string => `${r.method} ${r.path}`;

const WORDS = [
  'the',
  'file',
  'folder',
  'is',
  'great',
  'terrible',
  'I',
  'love',
  'this',
  'product',
  'bonjour',
  'le',
  'monde',
  'hallo',
  'Welt',
  'hola',
  'mundo',
  'привет',
  'мир',
  'こんにちは',
  '世界',
  'مرحبا',
  'שלום',
  '😀',
];

/**
 * Texts a route accepts, mostly short (so inference stays cheap over 1,000 cases),
 * some unicode-hostile, a few long ones up to `longMax` characters.
 */
const text = (longMax = 5000): fc.Arbitrary<string> =>
  fc.oneof(
    {
      arbitrary: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 12 }).map((w) => w.join(' ')),
      weight: 6,
    },
    {
      arbitrary: fc.string({ unit: hostileChar, minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0),
      weight: 3,
    },
    {
      arbitrary: fc
        .integer({ min: Math.min(100, longMax), max: longMax })
        .map((n) => 'This is a sentence about files and folders. '.repeat(Math.ceil(n / 45)).slice(0, n)),
      weight: 1,
    },
  );
const texts = (longMax?: number) => fc.array(text(longMax), { minLength: 1, maxLength: 6 });

/** Optional fields: present about half the time. */
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
/** Drops the keys whose value is undefined (JSON.stringify would too; mutations must not pick them). */
const defined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const record = (shape: Record<string, fc.Arbitrary<unknown>>) => fc.record(shape).map(defined);

const PREDICT_MODELS = [
  'tiny-distilbert-sentiment',
  'tiny-distilbert-sentiment@1',
  'tiny-distilbert-sentiment@2',
  'tiny-distilbert-sentiment@prod',
  'tiny-distilbert-sentiment@canary',
];
const ensemble = record({
  members: fc.shuffledSubarray(PREDICT_MODELS, { minLength: 2, maxLength: 3 }),
  method: fc.constantFrom('soft', 'hard'),
  weights: opt(fc.array(fc.double({ min: 0, max: 3, noNaN: true }), { minLength: 2, maxLength: 3 })),
});
const predictModel = opt(fc.constantFrom(...PREDICT_MODELS));
/** `model` or `ensemble`, not both (both is a 400 the near-valid cases reach by themselves). */
const modelOrEnsemble = fc.oneof(
  record({ model: predictModel }),
  record({ ensemble: ensemble as fc.Arbitrary<unknown> }),
);

const LANGS = ['fr', 'fra', 'fra_Latn', 'en', 'eng_Latn', 'de', 'deu_Latn', 'sw', 'swh', 'swa', 'zh', 'ar', 'ja'];
const lang = fc.constantFrom(...LANGS);

const sampling = {
  model: fc.constantFrom('tiny-gpt2', 'tiny-gpt2@1', 'tiny-gpt2@prod'),
  max_tokens: fc.integer({ min: 1, max: 8 }),
  temperature: opt(fc.double({ min: 0, max: 2, noNaN: true })),
  top_p: opt(fc.double({ min: 0.01, max: 1, noNaN: true })),
  top_k: opt(fc.integer({ min: 0, max: 50 })),
  n: opt(fc.integer({ min: 1, max: 2 })),
  stop: opt(
    fc.oneof(
      fc.string({ minLength: 1, maxLength: 3 }),
      fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 4 }),
    ),
  ),
  seed: opt(fc.integer()),
  presence_penalty: opt(fc.double({ min: -2, max: 2, noNaN: true })),
  frequency_penalty: opt(fc.double({ min: -2, max: 2, noNaN: true })),
  stream: opt(fc.boolean()),
  stream_options: opt(record({ include_usage: opt(fc.boolean()) })),
  user: opt(fc.string()),
};
const prompt = fc.oneof(text(300), fc.array(text(300), { minLength: 1, maxLength: 2 }));
const message = record({
  role: fc.constantFrom('system', 'developer', 'user', 'assistant'),
  content: fc.oneof(
    text(300),
    fc.array(record({ type: fc.constant('text'), text: text(100) }), { minLength: 1, maxLength: 2 }),
  ),
  name: opt(fc.string({ maxLength: 8 })),
});
const userMessage = record({ role: fc.constant('user'), content: text(300) });

/** An ISO date or date-time near now (inside the analytics' 31-day window most of the time). */
const instant = fc.tuple(fc.integer({ min: -40, max: 2 }), fc.boolean()).map(([days, dateOnly]) => {
  const iso = new Date(Date.now() + days * 86_400_000).toISOString();
  return dateOnly ? iso.slice(0, 10) : `${iso.slice(0, 19)}Z`;
});
const analyticsRange = {
  model: opt(fc.constantFrom('tiny-distilbert-sentiment', 'ensemble')),
  from: opt(instant),
  to: opt(instant),
};
const strings = (shape: Record<string, fc.Arbitrary<string | undefined>>) =>
  fc.record(shape).map((o) => defined(o) as Record<string, string>);

/**
 * The valid shapes of every route in `functions/routes.ts`. A route missing here fails
 * the fuzz suite: add its shape when adding the route.
 */
export const ROUTE_SHAPES: Record<string, RouteShape> = {
  'GET /health': {},
  'GET /v1/status': {},
  'POST /v1/predict': {
    body: fc.tuple(record({ text: text() }), modelOrEnsemble).map(([a, b]) => ({ ...a, ...b })),
  },
  'POST /v1/predict/batch': {
    body: fc.tuple(record({ texts: texts() }), modelOrEnsemble).map(([a, b]) => ({ ...a, ...b })),
  },
  'POST /v1/predict/compare': {
    body: fc
      .tuple(
        fc.oneof(record({ text: text() }), record({ texts: texts() })),
        record({
          model: opt(fc.constant('tiny-distilbert-sentiment')),
          versions: fc.constantFrom(['1', '2'], ['2', '1'], ['prod', '2'], ['1', 'canary']),
        }),
      )
      .map(([a, b]) => ({ ...a, ...b })),
  },
  'GET /v1/analytics/summary': { query: strings(analyticsRange) },
  'GET /v1/analytics/timeseries': {
    query: strings({
      ...analyticsRange,
      bucket: fc.constantFrom('hour', 'day'),
      limit: opt(fc.integer({ min: 1, max: 744 }).map(String)),
      nextToken: opt(
        fc
          .record({ model: fc.constant('tiny-distilbert-sentiment'), bucket: fc.constant('hour'), next: fc.integer() })
          .map((t) => Buffer.from(JSON.stringify(t)).toString('base64url')),
      ),
    }),
  },
  'GET /v1/models': {
    query: fc.oneof(
      fc.constant({}),
      fc.record({
        task: fc.constantFrom('text-classification', 'language-identification', 'translation', 'text-generation'),
      }),
    ),
  },
  'GET /v1/models/{id}': {
    path: fc
      .oneof(
        fc.constantFrom('tiny-gpt2', 'tiny-gpt2@1', 'tiny-gpt2@prod'),
        fc.constantFrom(
          'tiny-gpt2@9',
          'tiny-gpt2@',
          '@',
          'tiny-nllb',
          'lid176',
          'tiny-distilbert-sentiment',
          'gpt-4',
          '__proto__',
          'constructor',
          '%2F',
          '%00',
          '%',
          '%E0%A4%A',
          '%ZZ',
          '%2e%2e',
        ),
        hostileString.filter((s) => s.length > 0).map(percentEncode),
      )
      .map((id) => `/v1/models/${id}`),
  },
  'POST /v1/completions': { body: record({ ...sampling, prompt }) },
  'POST /v1/chat/completions': {
    body: record({
      ...sampling,
      messages: fc.oneof(
        fc.array(message, { minLength: 1, maxLength: 3 }),
        fc.array(userMessage, { minLength: 1, maxLength: 2 }),
      ),
      max_completion_tokens: opt(fc.integer({ min: 1, max: 8 })),
      response_format: opt(fc.constant({ type: 'text' })),
    }),
  },
  'POST /v1/detect': {
    body: fc
      .tuple(
        fc.oneof(record({ text: text() }), record({ texts: texts() })),
        record({ top_k: opt(fc.integer({ min: 1, max: 10 })), model: opt(fc.constantFrom('lid176', 'lid176@1')) }),
      )
      .map(([a, b]) => ({ ...a, ...b })),
  },
  'POST /detect': { body: record({ q: text(), api_key: opt(fc.string()) }), form: true },
  'POST /v1/translate': {
    body: fc
      .tuple(
        fc.oneof(record({ text: text(600) }), record({ texts: texts(200) })),
        record({
          target_language: lang,
          source_language: opt(fc.oneof(lang, fc.constant('auto'))),
          num_beams: opt(fc.integer({ min: 1, max: 3 })),
          max_new_tokens: opt(fc.integer({ min: 1, max: 12 })),
          split_sentences: opt(fc.boolean()),
          include_token_ids: opt(fc.boolean()),
          model: opt(fc.constantFrom('tiny-nllb', 'tiny-nllb@1')),
        }),
      )
      .map(([a, b]) => ({ ...a, ...b })),
  },
  'GET /v1/languages': {},
  'POST /translate': {
    body: record({
      q: fc.oneof(text(300), fc.array(text(150), { minLength: 1, maxLength: 3 })),
      source: opt(fc.oneof(lang, fc.constant('auto'))),
      target: lang,
      format: opt(fc.constantFrom('text', 'html')),
      api_key: opt(fc.string()),
      alternatives: opt(fc.integer({ min: 0, max: 3 })),
    }),
    form: true,
  },
  'GET /languages': {},
  'GET /frontend/settings': {},
  'POST /models/{model}': {
    path: fc
      .oneof(
        fc.constantFrom('tiny-distilbert-sentiment', 'tiny-distilbert-sentiment@2', 'lid176', 'tiny-nllb', 'tiny-gpt2'),
        fc.constantFrom('no-such-model', 'lid176@9', '__proto__', '%00', '%2e%2e', 'UPPER'),
      )
      .map((id) => `/models/${id}`),
    body: record({
      inputs: fc.oneof(text(300), texts(150)),
      parameters: opt(record({ top_k: opt(fc.integer({ min: 1, max: 5 })), src_lang: opt(lang), tgt_lang: opt(lang) })),
    }),
  },
  'GET /models/{model}/status': {
    path: fc
      .oneof(
        fc.constantFrom('tiny-gpt2', 'lid176@1', 'tiny-nllb', 'tiny-distilbert-sentiment@canary'),
        fc.constantFrom('no-such-model', 'tiny-gpt2@9', '__proto__', '%00', '%', 'UPPER'),
        hostileString.filter((s) => s.length > 0).map(percentEncode),
      )
      .map((id) => `/models/${id}/status`),
  },
  'POST /models/{model}/v1/completions': {
    path: fc.constantFrom('/models/tiny-gpt2/v1/completions', '/models/tiny-gpt2@1/v1/completions'),
    body: record({ ...sampling, model: opt(fc.constantFrom('http://localhost/models/tiny-gpt2')), prompt }),
  },
  'POST /models/{model}/v1/chat/completions': {
    path: fc.constant('/models/tiny-gpt2/v1/chat/completions'),
    body: record({
      ...sampling,
      model: opt(fc.constant('tiny-gpt2')),
      messages: fc.array(userMessage, { minLength: 1, maxLength: 2 }),
    }),
  },
  'POST /models/{model}/generate': {
    path: fc.constantFrom('/models/tiny-gpt2/generate', '/models/tiny-gpt2@prod/generate'),
    body: fc.oneof(
      record({ text: text(300), max_length: opt(fc.integer({ min: 1, max: 40 })), stream: opt(fc.boolean()) }),
      record({
        inputs: text(300),
        parameters: opt(
          record({
            max_new_tokens: opt(fc.integer({ min: 1, max: 8 })),
            temperature: opt(fc.double({ min: 0.1, max: 2, noNaN: true })),
            top_p: opt(fc.double({ min: 0.1, max: 1, noNaN: true })),
            do_sample: opt(fc.boolean()),
            stop: opt(fc.array(fc.constantFrom('.', 'the', '\n'), { minLength: 1, maxLength: 2 })),
            seed: opt(fc.integer({ min: 0, max: 1000 })),
            return_full_text: opt(fc.boolean()),
          }),
        ),
        stream: opt(fc.boolean()),
      }),
    ),
  },
};

/** Whether the route takes input the fuzzer shapes (a body, a query or a path parameter): then some cases must be refused. */
export const takesInput = (route: RouteDef): boolean => {
  const shape = ROUTE_SHAPES[routeKey(route)];
  return Boolean(shape?.body ?? shape?.query ?? shape?.path);
};

/** A body as a form: a list becomes a repeated field, anything else its JSON text or string. */
const formOf = (body: Record<string, unknown>): string => {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(body))
    for (const item of Array.isArray(v) ? v : [v])
      form.append(k, typeof item === 'string' ? item : JSON.stringify(item));
  return form.toString();
};

/** A valid form with one field added, repeated or overwritten (prototype keys included). */
const nearValidForm = (valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> =>
  valid.chain((body) =>
    fc
      .tuple(fc.oneof(fc.constantFrom(...Object.keys(body), ...PROTO_KEYS), hostileString), hostileString)
      .map(([k, v]) => `${formOf(body)}&${percentEncode(k)}=${percentEncode(v)}`),
  );

const KEYED = 'x-api-key';
/**
 * API Gateway refuses a request line plus headers over 10,240 bytes before any function
 * runs; the fuzzer stays under it (with room for the headers the client adds), so what
 * it tests is the product, not Node's own 16 KB header limit.
 */
const MAX_HEAD_BYTES = 9_000;
const headBytes = (path: string, headers: Record<string, string>): number =>
  Buffer.byteLength(path) +
  Object.entries(headers).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v, 'latin1') + 4, 0);

/**
 * The arbitrary of one route: hostile, near-valid and valid requests (bodies, headers,
 * query strings, path parameters), always with `key` so the gateway lets them through.
 * Undefined when the route has no shape in {@link ROUTE_SHAPES}.
 */
export const requestsFor = (route: RouteDef, key: string): fc.Arbitrary<FuzzRequest> | undefined => {
  const shape = ROUTE_SHAPES[routeKey(route)];
  if (!shape) return undefined;
  type Kind = FuzzRequest['kind'];
  const path = shape.path ?? fc.constant(route.path);
  const queryNames = shape.query ? ['model', 'from', 'to', 'bucket', 'limit', 'nextToken'] : [];
  const tagged = <T>(arb: fc.Arbitrary<T>, kind: Kind) => arb.map((value) => ({ value, kind }));
  const query = fc.oneof(
    { arbitrary: tagged(fc.constant(''), 'valid'), weight: 3 },
    { arbitrary: tagged(hostileQuery(queryNames), 'hostile'), weight: 2 },
    ...(shape.query
      ? [
          { arbitrary: tagged(nearValidQuery(shape.query), 'near-valid'), weight: 4 },
          {
            arbitrary: tagged(
              shape.query.map((q) => new URLSearchParams(q).toString()),
              'valid',
            ),
            weight: 3,
          },
        ]
      : []),
  );
  type Body = { body: string | Uint8Array | undefined; type: string | undefined };
  const withType = (body: fc.Arbitrary<string | Uint8Array>, type = contentType()) =>
    fc.tuple(body, type).map(([b, t]): Body => ({ body: b, type: t }));
  const bodies =
    route.method === 'POST' && shape.body
      ? fc.oneof(
          { arbitrary: tagged(withType(hostileBody(shape.body)), 'hostile'), weight: 35 },
          { arbitrary: tagged(withType(nearValid(shape.body)), 'near-valid'), weight: 40 },
          {
            arbitrary: tagged(
              withType(
                shape.body.map((b) => JSON.stringify(b)),
                fc.constant('application/json'),
              ),
              'valid',
            ),
            weight: 20,
          },
          ...(shape.form
            ? [
                {
                  arbitrary: tagged(
                    withType(shape.body.map(formOf), fc.constant('application/x-www-form-urlencoded')),
                    'valid',
                  ),
                  weight: 5,
                },
                {
                  arbitrary: tagged(
                    withType(nearValidForm(shape.body), fc.constant('application/x-www-form-urlencoded')),
                    'near-valid',
                  ),
                  weight: 5,
                },
              ]
            : []),
        )
      : fc.oneof(
          { arbitrary: tagged(fc.constant<Body>({ body: undefined, type: undefined }), 'valid'), weight: 6 },
          { arbitrary: tagged(withType(hostileBody()), 'hostile'), weight: 1 },
        );
  const rank: Record<Kind, number> = { valid: 0, 'near-valid': 1, hostile: 2 };
  return fc
    .tuple(path, query, bodies, extraHeaders)
    .filter(([p, q, , extra]) => headBytes(`${p}?${q.value}`, extra) <= MAX_HEAD_BYTES)
    .map(([p, q, b, extra]) => ({
      method: route.method,
      path: q.value ? `${p}?${q.value}` : p,
      headers: { ...extra, ...(b.value.type === undefined ? {} : { 'content-type': b.value.type }), [KEYED]: key },
      body: b.value.body,
      // The case is as hostile as its most hostile part.
      kind: rank[q.kind] > rank[b.kind] ? q.kind : b.kind,
    }));
};
