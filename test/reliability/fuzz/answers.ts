import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { GATEWAY_RESPONSES } from '#functions/gateway-responses.ts';
import type { RouteDef } from '#functions/routes.ts';
import type { FuzzRequest } from './routes.ts';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });
/** One request may not hang: a case that takes this long fails (the deadline is far below it). */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Sends exactly what the fuzzer made, with node:http rather than fetch: fetch refuses
 * bodies on GET, rewrites some headers and cannot send bytes that are not UTF-8 text.
 */
export const send = (baseUrl: string, req: Pick<FuzzRequest, 'method' | 'path' | 'headers' | 'body'>) =>
  new Promise<RawResponse>((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const r = request(
      `${baseUrl}${req.path}`,
      {
        method: req.method,
        agent,
        headers: { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    r.on('error', reject);
    r.end(body);
  });

/** What must never reach a caller: stack frames, source or install paths, error class names. */
const LEAKS: RegExp[] = [
  /\n\s+at /,
  /\bat [\w$.<>]+ \(/,
  /node_modules/,
  /file:\/\//,
  /\.(?:ts|js|mjs|cjs):\d+/,
  /\b(?:TypeError|ReferenceError|RangeError|SyntaxError|AssertionError)\b/,
  new RegExp(process.cwd().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
];

const fail = (why: string, res: RawResponse): never => {
  throw new Error(
    `${why}\n  status ${res.status}, content-type ${res.headers['content-type']}\n  body ${res.text.slice(0, 600)}`,
  );
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A message a caller can act on: a sentence, not a bare code or the generic server text. */
const useful = (message: unknown): boolean =>
  typeof message === 'string' &&
  message.trim().length >= 10 &&
  /[a-z]{3}/i.test(message) &&
  !/^Internal error/.test(message);

/** API Gateway's own answer for a path no route matches (`/v1/models/%2e%2e` normalises to `/v1/`). */
const isGatewayNotFound = (status: number, body: Record<string, unknown>): boolean =>
  status === GATEWAY_RESPONSES.NOT_FOUND.statusCode &&
  isObject(body.error) &&
  body.error.code === GATEWAY_RESPONSES.NOT_FOUND.code &&
  body.error.message === GATEWAY_RESPONSES.NOT_FOUND.message;

const checkError = (route: RouteDef, res: RawResponse, body: Record<string, unknown>): void => {
  const error = body.error;
  // LibreTranslate's routes answer `{"error": "…"}` (its clients read a string); the gateway's own answers stay the envelope.
  if (route.errorShape === 'libretranslate' && !isObject(error)) {
    if (!useful(error)) fail('a LibreTranslate 4xx whose error does not say what to fix', res);
    if (Object.keys(body).join(',') !== 'error') fail('a LibreTranslate error with keys beside "error"', res);
    return;
  }
  if (!isObject(error)) fail('a 4xx without an "error" object', res);
  const e = error as Record<string, unknown>;
  if (!useful(e.message)) fail('a 4xx whose error.message does not say what to fix', res);
  if (isGatewayNotFound(res.status, body)) return;
  if (route.errorShape === 'openai') {
    const keys = Object.keys(e).sort().join(',');
    if (keys !== 'code,message,param,type') fail(`an OpenAI error with keys ${keys}, not code,message,param,type`, res);
    if (typeof e.type !== 'string' || !(typeof e.param === 'string' || e.param === null))
      fail('an OpenAI error whose type is not a string or whose param is not a string or null', res);
  } else {
    if (typeof e.code !== 'string' || !e.code) fail('an error without a code', res);
    if (typeof e.requestId !== 'string' || !e.requestId) fail('an error without a requestId', res);
    const extra = Object.keys(e).filter((k) => !['code', 'message', 'requestId', 'details'].includes(k));
    if (extra.length) fail(`an error with unexpected keys ${extra.join(',')}`, res);
  }
};

/**
 * A streamed answer: `data: <json>` events, none of them an error. OpenAI's chunks end with
 * `data: [DONE]`; Text Generation Inference's token events (`/generate`) end with the event
 * that carries `generated_text`, and no `[DONE]`.
 */
const checkEvents = (route: RouteDef, res: RawResponse): void => {
  if (!res.text.endsWith('\n\n')) fail('an event stream that does not end with a blank line', res);
  const events = res.text.slice(0, -2).split('\n\n');
  const tgi = route.path.endsWith('/generate');
  if (!tgi && events.at(-1) !== 'data: [DONE]') fail('an event stream that does not end with data: [DONE]', res);
  const parsed = (tgi ? events : events.slice(0, -1)).map((event) => {
    if (!event.startsWith('data: ')) fail(`an event that is not a data: line: ${event.slice(0, 80)}`, res);
    let data: unknown;
    try {
      data = JSON.parse(event.slice(6));
    } catch {
      fail(`an event whose data is not JSON: ${event.slice(0, 80)}`, res);
    }
    const shaped = tgi ? isObject(data) && isObject(data.token) : isObject(data) && Array.isArray(data.choices);
    if (!isObject(data) || 'error' in data || !shaped)
      fail(`an event that is not a ${tgi ? 'TGI token event' : 'completion chunk'}: ${event.slice(0, 200)}`, res);
    return data as Record<string, unknown>;
  });
  if (tgi && typeof parsed.at(-1)?.generated_text !== 'string')
    fail('a TGI stream whose last event has no generated_text', res);
};

/**
 * Numbers a 2xx may carry, wherever they are: every `score` a probability, every
 * `confidence` a probability or a percentage (LibreTranslate), every `scores` list a
 * distribution (an overflow or a NaN shows up here as null, 0 or a sum far from 1).
 */
const checkNumbers = (value: unknown, res: RawResponse): void => {
  if (Array.isArray(value)) {
    for (const v of value) checkNumbers(v, res);
    return;
  }
  if (!isObject(value)) return;
  if ('score' in value && !(typeof value.score === 'number' && value.score >= 0 && value.score <= 1))
    fail(`a score that is not a probability: ${JSON.stringify(value.score)}`, res);
  if (
    'confidence' in value &&
    !(typeof value.confidence === 'number' && value.confidence >= 0 && value.confidence <= 100)
  )
    fail(`a confidence that is not a number in [0, 100]: ${JSON.stringify(value.confidence)}`, res);
  if (Array.isArray(value.scores)) {
    const sum = value.scores.reduce((n: number, s: { score?: unknown }) => n + Number(s.score), 0);
    if (!(Math.abs(sum - 1) < 1e-3)) fail(`scores that sum to ${sum}, not 1`, res);
  }
  for (const v of Object.values(value)) checkNumbers(v, res);
};

/** Whether the request asked for a stream (only then may an answer be Server-Sent Events). */
const asksForStream = (req: FuzzRequest): boolean => {
  try {
    const body = JSON.parse(Buffer.from(req.body ?? '').toString('utf8')) as unknown;
    return isObject(body) && body.stream === true;
  } catch {
    return false;
  }
};

/**
 * The properties every answer of every route must have, whatever was sent: no 5xx;
 * JSON (or, for a stream asked for on a streaming route, well-formed events); a 4xx in
 * the route's error shape with a message that says what to fix; a request id; no stack
 * trace or file path anywhere in the body.
 */
export const checkAnswer = (route: RouteDef, req: FuzzRequest, res: RawResponse): void => {
  if (res.status >= 500 || res.status < 200) fail(`status ${res.status}`, res);
  if (!res.headers['x-request-id']) fail('no x-request-id header', res);
  for (const leak of LEAKS) if (leak.test(res.text)) fail(`the body leaks internals (${leak})`, res);
  const type = String(res.headers['content-type'] ?? '');
  if (type.startsWith('text/event-stream')) {
    if (!route.streaming || res.status !== 200 || !asksForStream(req))
      fail('an event stream for a request that did not ask for one', res);
    checkEvents(route, res);
    return;
  }
  if (!type.startsWith('application/json')) fail('an answer that is not JSON', res);
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    fail('a body that does not parse as JSON', res);
  }
  if (res.status >= 400) {
    if (!isObject(body)) fail('a 4xx whose body is not an object', res);
    checkError(route, res, body as Record<string, unknown>);
  } else if (typeof body !== 'object' || body === null) {
    fail('a 2xx whose body is not an object or a list', res);
  } else {
    checkNumbers(body, res);
  }
};
