import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the Lambda Runtime API (the server side Lambda's own service plays, at
 * `AWS_LAMBDA_RUNTIME_API`), on loopback: the runtime client of the image polls
 * `GET /2018-06-01/runtime/invocation/next`, answers with `POST …/{id}/response` (buffered,
 * or streamed: `Lambda-Runtime-Function-Response-Mode: streaming`, chunked, error trailers)
 * or `POST …/{id}/error`, and reports a failed init with `POST /2018-06-01/runtime/init/error`.
 * Each invocation is queued by `invoke()` and settled by what the runtime posts.
 */

const PREFIX = '/2018-06-01/runtime';
/** The delimiter between the JSON prelude and the body of an HTTP-integration response. */
const PRELUDE_DELIMITER = Buffer.alloc(8);
export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

export interface RuntimeError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export interface InvocationResult {
  id: string;
  kind: 'response' | 'error';
  /** Headers of the runtime's POST (response mode, content type, error type). */
  headers: IncomingHttpHeaders;
  /** HTTP trailers of a streamed response (the error type and base64 body when it failed mid-stream). */
  trailers: Record<string, string>;
  streamed: boolean;
  /** The whole body as posted. */
  raw: Buffer;
  /** An HTTP-integration response split into its prelude (status, headers) and payload. */
  prelude?: { statusCode?: number; headers?: Record<string, string>; cookies?: string[] };
  payload: Buffer;
  /** /error's body, or a failed stream's error trailer decoded. */
  error?: RuntimeError;
}

export interface InitError {
  headers: IncomingHttpHeaders;
  error: RuntimeError;
}

interface Pending {
  id: string;
  event: unknown;
  deadlineMs: number;
  settle: (result: InvocationResult) => void;
}

const readAll = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** Splits `<json prelude><8 NUL bytes><payload>`; bodies without the content type are all payload. */
const splitPrelude = (headers: IncomingHttpHeaders, raw: Buffer) => {
  if (!String(headers['content-type'] ?? '').startsWith(HTTP_INTEGRATION_CONTENT_TYPE)) return { payload: raw };
  const at = raw.indexOf(PRELUDE_DELIMITER);
  if (at < 0) throw new Error('HTTP-integration response without the 8-byte delimiter after its prelude');
  return {
    prelude: JSON.parse(raw.subarray(0, at).toString('utf8')),
    payload: raw.subarray(at + PRELUDE_DELIMITER.length),
  };
};

/**
 * Starts the stand-in on a free loopback port.
 *
 * @example
 * const api = await startRuntimeApi();
 * // spawn the runtime with AWS_LAMBDA_RUNTIME_API=api.address, then:
 * const result = await api.invoke({ httpMethod: 'GET', path: '/health' });
 */
export const startRuntimeApi = async () => {
  const queue: Pending[] = [];
  const waiting: ServerResponse[] = [];
  const inFlight = new Map<string, Pending>();
  let nexts = 0;
  let resolveInit: (e: InitError) => void = () => {};
  const initError = new Promise<InitError>((resolve) => {
    resolveInit = resolve;
  });

  const deliver = (res: ServerResponse, p: Pending) => {
    inFlight.set(p.id, p);
    res.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': p.id,
      'lambda-runtime-deadline-ms': String(p.deadlineMs),
      'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:123456789012:function:hf-serve-test:live',
      'lambda-runtime-trace-id': `Root=1-${Date.now().toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)};Sampled=0`,
    });
    res.end(JSON.stringify(p.event));
  };

  const server = createServer(async (req, res) => {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === `${PREFIX}/invocation/next`) {
      nexts += 1;
      const p = queue.shift();
      if (p) deliver(res, p);
      else waiting.push(res);
      return;
    }
    const raw = await readAll(req);
    const accepted = () => {
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{"status":"OK"}');
    };
    if (req.method === 'POST' && url === `${PREFIX}/init/error`) {
      accepted();
      resolveInit({ headers: req.headers, error: JSON.parse(raw.toString('utf8')) as RuntimeError });
      return;
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    const p = match ? inFlight.get(decodeURIComponent(match[1] ?? '')) : undefined;
    if (req.method !== 'POST' || !match || !p) {
      res.writeHead(match ? 400 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errorMessage: `unknown request ${req.method} ${url}`, errorType: 'InvalidRequestID' }));
      return;
    }
    inFlight.delete(p.id);
    accepted();
    const trailers = Object.fromEntries(Object.entries(req.trailers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const streamed = req.headers['lambda-runtime-function-response-mode'] === 'streaming';
    const failedStream = trailers['lambda-runtime-function-error-body'];
    const kind = match[2] as 'response' | 'error';
    p.settle({
      id: p.id,
      kind,
      headers: req.headers,
      trailers,
      streamed,
      raw,
      ...(kind === 'response' ? splitPrelude(req.headers, raw) : { payload: raw }),
      error:
        kind === 'error'
          ? (JSON.parse(raw.toString('utf8')) as RuntimeError)
          : failedStream
            ? (JSON.parse(Buffer.from(failedStream, 'base64').toString('utf8')) as RuntimeError)
            : undefined,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    /** `host:port`, the value of AWS_LAMBDA_RUNTIME_API. */
    address: `127.0.0.1:${port}`,
    /** Resolves when the runtime reports a failed init. */
    initError,
    /** How many times the runtime asked for its next invocation (a warm instance asks again after each). */
    get nextCalls() {
      return nexts;
    },
    /** Queues one invocation and resolves with what the runtime posted for it. */
    invoke: (event: unknown, timeoutMs = 30_000): Promise<InvocationResult> =>
      new Promise((settle) => {
        const p: Pending = { id: randomUUID(), event, deadlineMs: Date.now() + timeoutMs, settle };
        const res = waiting.shift();
        if (res) deliver(res, p);
        else queue.push(p);
      }),
    close: async (): Promise<void> => {
      for (const res of waiting.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

export type RuntimeApi = Awaited<ReturnType<typeof startRuntimeApi>>;
