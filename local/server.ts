import './lambda-shim.ts';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import {
  GATEWAY_RESPONSES,
  type GatewayResponseType,
  gatewayCorsHeaders,
  gatewayErrorBody,
  preflightHeaders,
  retryAfterOf,
} from '#functions/gateway-responses.ts';
import { type Capability, ROUTES, type RouteDef } from '#functions/routes.ts';
import { apiKeyOf } from '#http/api-keys.ts';
import { FUNCTION_INIT_MARK } from '#http/cold-start.ts';
import type { KnownKey } from '#http/key-source.ts';
import { BENCH_NOOP, BENCH_NOOP_ROUTE, benchNoopHandler } from './bench-noop.ts';
import { lambdaContext, proxyEvent } from './events.ts';
import { inInvocation, type MetadataStream, STREAMING } from './lambda-shim.ts';

/** A function the emulator invokes: a capability's, or the bench's no-op (`local/bench-noop.ts`). */
export type LocalFunction = Capability | typeof BENCH_NOOP;
/** A route as the emulator serves it: one of `ROUTES`, or the bench's no-op route. */
export type LocalRoute = Omit<RouteDef, 'fn'> & { fn: LocalFunction };

/** What a capability's module exports: a buffered handler, or a response-streaming one. */
export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
export type StreamingHandler = ((event: APIGatewayProxyEvent, stream: Writable, context: Context) => Promise<void>) & {
  [STREAMING]?: true;
};

export interface LocalApiOptions {
  port: number;
  host: string;
  /**
   * Accepted keys; `key:rate:burst` gives a key its own throttle, `key:rate:burst:quota`
   * also a quota of requests per UTC day (its usage-plan tier), and `key:rate:burst:quota:plan`
   * (quota may be empty) the plan's name, which fair use's per-plan allowances look up.
   */
  apiKeys: string[];
  /** Usage-plan throttle per key (token bucket). */
  rate: number;
  burst: number;
  timeoutMs: number;
  /** Origins the preflight allows (the stage's `corsOrigins`); default `*`. */
  corsOrigins?: readonly string[];
  routes?: readonly RouteDef[];
  /**
   * Also serve `POST /bench/noop` (`local/bench-noop.ts`), a keyed route whose function
   * does nothing: the request-path bench's routing baseline. Off by default.
   */
  benchNoop?: boolean;
  loadHandler?: (fn: LocalFunction) => Promise<ProxyHandler | StreamingHandler>;
  /**
   * Tried first on every request: true when it answered it (the local developer pages,
   * `local/pages.ts`), false to let the emulator route it as API Gateway would.
   */
  intercept?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Told of every request the emulator routes (all but the intercepted), with the route it matched (the metrics view). */
  onRequest?: (res: ServerResponse, route: LocalRoute | undefined, method: string) => void;
}

/** API Gateway's payload limit. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

const compile = (route: LocalRoute) => {
  const names: string[] = [];
  const pattern = route.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, names, regex: new RegExp(`^${pattern}/?$`) };
};
type CompiledRoute = ReturnType<typeof compile>;

/** A path parameter, percent-decoded; a malformed escape (`%`, `%E0%A4%A`) is passed on as sent, not a crash. */
const decodePathPart = (raw: string): string => {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
};

/**
 * The emulator's keys as API Gateway would list them with their plans (`listApiGatewayKeysWithPlans`):
 * by value, each with the id the emulator reports and its plan's numbers. What the emulator
 * mirrors into the key table at start, as the key-sync function does in AWS (local/stack.ts).
 */
export const localKeys = (apiKeys: readonly string[], rate: number, burst: number): Map<string, KnownKey> =>
  new Map([...plansOf(apiKeys, rate, burst)].map(([key, plan]) => [key, { id: apiKeyIdOf(key), enabled: true, plan }]));

/** Key ids once hashed: the emulator's gateway does not hash the key on every request. */
const keyIds = new Map<string, string>();

/** The key's id as API Gateway would report it (`requestContext.identity.apiKeyId`): never the key itself. */
export const apiKeyIdOf = (key: string): string => {
  let id = keyIds.get(key);
  if (id === undefined) {
    id = `local-${createHash('sha256').update(key).digest('hex').slice(0, 10)}`;
    // Only the configured keys reach here (a request's key is checked against them first).
    keyIds.set(key, id);
  }
  return id;
};

interface Plan {
  rate: number;
  burst: number;
  /** Requests per UTC day; undefined = no quota. */
  quota?: number;
  /** The plan's name (API Gateway's usage plan name); undefined = none given. */
  name?: string;
}

/** Each `key[:rate:burst[:quota[:plan]]]` entry's plan, with the default throttle where it names none. */
const plansOf = (apiKeys: readonly string[], rate: number, burst: number): Map<string, Plan> =>
  new Map<string, Plan>(
    apiKeys.map((entry) => {
      const [key, r, b, quota, name] = entry.split(':');
      const plan: Plan = { rate: Number(r ?? rate), burst: Number(b ?? burst) };
      if (quota) plan.quota = Number(quota);
      if (name) plan.name = name;
      return [key!, plan] as const;
    }),
  );

/** A token bucket per API key: `rate` tokens a second, at most `burst` saved up. */
class Throttle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly plans: Map<string, Plan>) {}
  take(key: string): boolean {
    const { rate, burst } = this.plans.get(key)!;
    const now = performance.now();
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** A usage-plan quota per API key: requests per UTC day (the `DAY` period of the stages' plans). */
class Quota {
  private readonly used = new Map<string, { day: string; count: number }>();
  constructor(private readonly plans: Map<string, Plan>) {}
  private usedToday(key: string): { day: string; count: number } {
    const day = new Date().toISOString().slice(0, 10);
    const u = this.used.get(key);
    return u?.day === day ? u : { day, count: 0 };
  }
  /** False once the key's requests for today reach its quota. */
  allows(key: string): boolean {
    const quota = this.plans.get(key)!.quota;
    return quota === undefined || this.usedToday(key).count < quota;
  }
  count(key: string): void {
    const u = this.usedToday(key);
    this.used.set(key, { day: u.day, count: u.count + 1 });
  }
}

/** The route a method and path match, with its path parameters. */
const matchRoute = (
  routes: readonly CompiledRoute[],
  method: string,
  pathname: string,
): { route: LocalRoute; params: Record<string, string> } | undefined => {
  for (const r of routes) {
    const m = r.regex.exec(pathname);
    if (m && r.route.method === method) {
      return { route: r.route, params: Object.fromEntries(r.names.map((n, i) => [n, decodePathPart(m[i + 1]!)])) };
    }
  }
  return undefined;
};

/** Imports a capability's handler module, as the Lambda runtime loads the function's (the no-op has none). */
export const defaultLoadHandler = async (fn: LocalFunction): Promise<ProxyHandler | StreamingHandler> => {
  if (fn === BENCH_NOOP) return benchNoopHandler;
  // In this process the function's init starts now, not at the process start.
  performance.mark(FUNCTION_INIT_MARK);
  const mod = (await import(`../functions/${fn}/handler.ts`)) as { handler: ProxyHandler | StreamingHandler };
  return mod.handler;
};

/**
 * The emulator's side of Lambda response streaming: status and headers go out when the
 * handler sets them (HttpResponseStream.from), every chunk is written and flushed at
 * once, as API Gateway's streaming integration forwards it.
 */
const responseStreamFor = (res: ServerResponse): MetadataStream => {
  const ensureHead = (metadata: AwsLambdaResponseMetadata = {}) => {
    if (res.headersSent) return;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata.headers ?? {}))
      if (v !== undefined) headers[k.toLowerCase()] = String(v);
    res.writeHead(metadata.statusCode ?? 200, headers);
    res.flushHeaders();
  };
  const stream: MetadataStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      ensureHead();
      res.write(chunk, () => callback());
    },
    final(callback) {
      ensureHead();
      res.end(() => callback());
    },
  });
  stream.setMetadata = ensureHead;
  // The client went away before the end: the function's stream closes, as Lambda's does,
  // so the handler (Middy's pipeline into it) sees it and stops its work.
  res.once('close', () => {
    if (!res.writableFinished) stream.destroy();
  });
  return stream;
};

const readBody = async (req: IncomingMessage): Promise<Buffer | undefined> => {
  const chunks: Buffer[] = [];
  let size = 0;
  // Past the limit the rest is read and dropped: leaving the loop would destroy the
  // socket, and the client would see a reset instead of the 413.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_PAYLOAD_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_PAYLOAD_BYTES ? undefined : Buffer.concat(chunks);
};

const sendGatewayError = (
  res: ServerResponse,
  type: GatewayResponseType,
  requestId: string,
  corsOrigins: readonly string[],
  route: LocalRoute | undefined,
): void => {
  const retryAfter = retryAfterOf(type);
  res.writeHead(GATEWAY_RESPONSES[type].statusCode, {
    'content-type': 'application/json',
    'x-request-id': requestId,
    ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
    ...gatewayCorsHeaders(corsOrigins),
  });
  res.end(JSON.stringify(gatewayErrorBody(type, route?.errorShape, requestId)));
};

const headerOf = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

const writeResult = (res: ServerResponse, result: APIGatewayProxyResult): void => {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = String(v);
  for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k.toLowerCase()] = v.map(String);
  res.writeHead(result.statusCode, headers);
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
};

/**
 * The local API Gateway emulator: real HTTP in, API Gateway REST proxy events to the
 * same handlers the Lambda functions run, API keys and usage-plan throttling as the
 * CDK stack configures them (one route table), gateway errors in the product's shape.
 *
 * @example
 * const api = await startLocalApi({ port: 0, host: '127.0.0.1', apiKeys: ['k'], rate: 10, burst: 20, timeoutMs: 28_000 });
 * await fetch(`${api.url}/health`); // => 200 {"status":"ok"}
 */
export const startLocalApi = async (
  options: LocalApiOptions,
): Promise<{ server: Server; url: string; close: () => Promise<void> }> => {
  const routes = [...(options.routes ?? ROUTES), ...(options.benchNoop ? [BENCH_NOOP_ROUTE] : [])].map(compile);
  const load = options.loadHandler ?? defaultLoadHandler;
  const handlers = new Map<LocalFunction, Promise<ProxyHandler | StreamingHandler>>();
  const plans = plansOf(options.apiKeys, options.rate, options.burst);
  const throttle = new Throttle(plans);
  const quota = new Quota(plans);
  const corsOrigins = options.corsOrigins ?? ['*'];

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = req.method ?? 'GET';
    const gatewayRequestId = crypto.randomUUID();
    try {
      if (await options.intercept?.(req, res)) return;
      const matched = matchRoute(routes, method, url.pathname);
      options.onRequest?.(res, matched?.route, method);
      if (method === 'OPTIONS') {
        // CORS preflight, as API Gateway's mock integration answers it.
        const origin = req.headers.origin;
        res.writeHead(204, preflightHeaders(corsOrigins, typeof origin === 'string' ? origin : undefined));
        res.end();
        return;
      }
      const gatewayError = (type: GatewayResponseType) =>
        sendGatewayError(res, type, gatewayRequestId, corsOrigins, matched?.route);
      if (!matched) return gatewayError('NOT_FOUND');
      // Either header, as the AWS authorizer reads them (functions/api-keys.ts).
      const apiKey = apiKeyOf({
        'x-api-key': headerOf(req, 'x-api-key'),
        authorization: headerOf(req, 'authorization'),
      });
      if (matched.route.apiKeyRequired) {
        if (!apiKey) return gatewayError('UNAUTHORIZED');
        if (!plans.has(apiKey)) return gatewayError('ACCESS_DENIED');
        // A request the throttle turns away does not count against the quota.
        if (!quota.allows(apiKey)) return gatewayError('QUOTA_EXCEEDED');
        if (!throttle.take(apiKey)) return gatewayError('THROTTLED');
        quota.count(apiKey);
      }
      if (matched.route.mock) {
        // API Gateway's MOCK integration: the gateway answers, no function is loaded or invoked.
        await readBody(req);
        res.writeHead(200, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          'x-request-id': gatewayRequestId,
          ...gatewayCorsHeaders(corsOrigins),
        });
        res.end(JSON.stringify(matched.route.mock.body));
        return;
      }
      const body = await readBody(req);
      if (body === undefined) return gatewayError('REQUEST_TOO_LARGE');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
      const event = proxyEvent({
        method,
        resource: matched.route.path,
        path: url.pathname,
        pathParameters: Object.keys(matched.params).length ? matched.params : null,
        headers,
        query: url.searchParams,
        body: body.length ? body.toString('utf8') : null,
        // What the AWS authorizer answers for a keyed route: the key's id, and its plan's name in the context.
        ...(matched.route.apiKeyRequired && apiKey
          ? { apiKeyId: apiKeyIdOf(apiKey), plan: plans.get(apiKey)?.name }
          : {}),
        sourceIp: req.socket.remoteAddress,
        // One id per request, as API Gateway's: the function's correlation id is the one a 502 quotes.
        requestId: gatewayRequestId,
      });
      let handler = handlers.get(matched.route.fn);
      if (!handler) {
        handler = load(matched.route.fn);
        handlers.set(matched.route.fn, handler);
      }
      const fn = await handler;
      const context = lambdaContext(`local-${matched.route.fn}`, options.timeoutMs);
      // Each invocation in its own logger context: in one process, others run at the same time.
      await inInvocation(context.awsRequestId, async () => {
        if ((fn as StreamingHandler)[STREAMING]) {
          await (fn as StreamingHandler)(event, responseStreamFor(res), context);
        } else {
          writeResult(res, await (fn as ProxyHandler)(event, context));
        }
      });
    } catch (error) {
      // The client left mid-stream: nobody to answer (the function has seen its stream close).
      if (res.closed && !res.writableFinished) return;
      // What API Gateway answers when the integration itself fails: a 502, no details.
      console.error(`local API: integration failed (request id ${gatewayRequestId})`, error);
      if (!res.headersSent)
        res.writeHead(502, { 'content-type': 'application/json', 'x-request-id': gatewayRequestId });
      res.end(
        JSON.stringify({
          error: { code: 'bad_gateway', message: 'Internal server error', requestId: gatewayRequestId },
        }),
      );
    }
  });
  await new Promise<void>((resolve, reject) => {
    // EADDRINUSE and the like arrive as an 'error' event, which would otherwise crash the process.
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
