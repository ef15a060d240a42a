/**
 * The request path's own cost (issue 21), measured side by side in one run on the local
 * API (`npm start`'s stack, the functions in the emulator's process, the tiny test
 * fixtures: lid176 for detect, tiny-distilbert-sentiment for predict, tiny-nllb for
 * translate, tiny-gpt2 for completions; one ONNX intra-op thread):
 *
 * - pathOverRoutingMs: a capability's client-visible p50 minus the p50 of `POST /bench/noop`
 *   on the same emulator, keep-alive connection and HTTP hop, requests interleaved round
 *   by round. The no-op is a keyed route whose function answers 200 `{}` and does nothing
 *   else (local/bench-noop.ts, served only by the bench's stack), invoked as the
 *   capabilities' functions are: the subtraction removes the hop, the gateway's key check
 *   and throttle, and the emulator's invocation (event, context, response mapping), all of
 *   which API Gateway and Lambda do outside the function in AWS; what stays is the
 *   function's own code, the model's time included. Until 2026-12-06 the baseline was
 *   `GET /health` (raw.healthP50Ms, still measured), which the gateway answers itself (a
 *   MOCK): that left the emulator's invocation inside every capability's figure;
 * - cpuOverNoopMs: the same difference for this process's CPU time per request (user +
 *   system, all threads: the client, the emulator, the function and ONNX Runtime's thread
 *   alike), means over the rounds: less noisy than wall time on a shared machine;
 * - recordWriteAddedMs: the same capability's p50 with 5 ms injected in front of dynalite
 *   (a TCP delay proxy on the functions' DynamoDB endpoint, toggled per request) minus its
 *   p50 without: what the prediction log costs an answer when DynamoDB is a round trip
 *   away; a control arm (no delay, another name) gives the noise floor of that difference
 *   (raw.controlMinusP50Ms). The shared result-cache tier is off here (RESULT_CACHE_SHARED=never): its read is
 *   on the path by design and is not the record write;
 * - warmP50OverBare: the capability's client-visible p50 over the p50 of the same model
 *   work bare in this process (bench/request-path/bare.ts: same bundle, session options,
 *   threads and input, no server), a fifth arm of each capability's rounds;
 * - warmOverBareBeyondRoutingP50: the same ratio with the no-op's p50 taken off the
 *   capability's first ((p50 − noop p50) / bare p50): the function's own code and model
 *   over the bare model work, without the HTTP hop and the invocation, which a tiny model's
 *   answer is mostly made of (detect's lid.176 works a text in tens of microseconds);
 * - recordsLost: records of the answered requests missing from the table once the
 *   ingestion has settled.
 *
 * Locally the ingester runs in the emulator's process; each timed request waits (untimed)
 * for the previous records to be ingested, as in AWS where the ingester is another function.
 *
 * In the same run, bench/request-path/handler-loop.ts times each function's handler with
 * nothing else in its process (inOwnProcess: handler and bare p50, the path over bare, their
 * ratio): the function's own cost without the emulator's neighbourhood, which slows every
 * in-process figure above (bare inference included) several times over; and again for
 * predict and completions on the full-size-shaped bench models (inOwnProcessFullSizeModel,
 * 60 rounds), where the model's time is material;
 * bench/request-path/cold.ts measures each capability's cold start over a
 * bare process (coldOverBareMs, its decomposition, dollars per million, peak RSS) and
 * bench/request-path/cpu.ts predict's CPU per request over the plain pipeline() server
 * (cpuPerRequestOverBaseline). Where the path's time goes: bench/request-path/profile.ts.
 *
 *   npx tsx bench/request-path.ts                 # 400 rounds, writes bench/results/request-path.json
 *   npx tsx bench/request-path.ts --rounds 60 --validation --out /tmp/check.json   # a check, not the result
 *   npx tsx bench/request-path.ts --only-path --rounds 300 --capabilities detect,predict --out /tmp/path.json
 *
 * `--only-path` measures the path over routing alone, in a minute or two: `/health`, the
 * no-op and each capability's plain arm, no delayed, control or bare arm, no cold start,
 * no CPU under load, no build; it never writes bench/results/ (stdout, and `--out`).
 *
 * The results file is replaced only when the run completes (written to a temporary file,
 * then renamed). `--validation` labels a short run as such and never writes
 * bench/results/ either: it goes to stdout and `--out` only.
 */
import { rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { makeDocumentClient } from '#predictions/client.ts';
import { requireBenchInputs } from './inputs.ts';
import { buildFunctions, machineInfo, median, ROOT, round } from './lib.ts';
import { loadBare } from './request-path/bare.ts';
import { coldFields, measureColdStarts } from './request-path/cold.ts';
import { cpuFields, measureCpuPerRequest } from './request-path/cpu.ts';
import { measureInOwnProcess } from './request-path/handler-loop.ts';
import { CAPS, type Cap, INPUTS } from './request-path/requests.ts';
import { MODELS_ROOT, startBenchStack } from './request-path/stack.ts';

const RESULTS = path.join(ROOT, 'bench/results/request-path.json');
const KEY = 'bench-key';
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 5);
/** The whole run stops after this, whatever the rounds: the lead's `npm run bench` stays bounded. */
const MAX_RUN_MS = 4 * 60_000;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '400' },
    validation: { type: 'boolean', default: false },
    'only-path': { type: 'boolean', default: false },
    capabilities: { type: 'string', default: 'detect,predict,translate,completions' },
    out: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const ONLY_PATH = values['only-path'];

/**
 * A TCP proxy to `target` that holds every client→server chunk `delay()` ms before
 * forwarding it: DynamoDB one round trip further away, for the requests sent while on.
 */
const delayProxy = async (target: string, delay: () => number) => {
  const { hostname, port } = new URL(target);
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    client.on('data', (chunk) => {
      const ms = delay();
      if (ms > 0) setTimeout(() => upstream.write(chunk), ms);
      else upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
};

// The cold and CPU parts run the bench models and the function bundles, as the image does.
if (!ONLY_PATH) {
  requireBenchInputs(['request-path']);
  buildFunctions();
}
let delayMs = 0;
let proxy: Awaited<ReturnType<typeof delayProxy>> | undefined;
const loadAtStart = os.loadavg().map((l) => round(l, 2));
const stack = await startBenchStack(KEY, {
  benchNoop: true,
  databaseEndpoint: async (endpoint) => {
    proxy = await delayProxy(endpoint, () => delayMs);
    return proxy.endpoint;
  },
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const call = (method: 'GET' | 'POST', p: string, body?: unknown) =>
  new Promise<{ ms: number; json: Record<string, unknown>; requestId: string }>((resolve, reject) => {
    const payload = body ? JSON.stringify(body) : undefined;
    const started = performance.now();
    const req = http.request(
      `${stack.url}${p}`,
      {
        method,
        agent,
        headers: {
          'x-api-key': KEY,
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - started;
          const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          if (res.statusCode !== 200) reject(new Error(`${method} ${p}: ${res.statusCode} ${JSON.stringify(json)}`));
          else resolve({ ms, json, requestId: String(res.headers['x-request-id']) });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });

const SELECTED = values.capabilities.split(',').map((c) => c.trim()) as Cap[];
for (const cap of SELECTED) if (!(cap in CAPS)) throw new Error(`--capabilities: unknown ${cap}`);

/** Tokens an answer generated, where it says (completions' usage); undefined elsewhere. */
const tokensOf = (cap: Cap, json: Record<string, unknown>): number | undefined =>
  cap === 'completions' ? (json.usage as { completion_tokens?: number } | undefined)?.completion_tokens : undefined;
const push = (to: Record<string, number[]>, name: string, value: number): void => {
  const list = to[name] ?? [];
  list.push(value);
  to[name] = list;
};
const mean = (xs: number[] | undefined): number | null =>
  xs?.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 2) : null;

let ok = false;
try {
  const series: Record<string, number[]> = { health: [], noop: [] };
  /** This process's CPU time per request of each arm, ms (process.cpuUsage: every thread). */
  const cpuSeries: Record<string, number[]> = {};
  const requestIds: string[] = [];
  // After the stack: its configuration (threads, session options) is the one bare inference reads.
  const bare = ONLY_PATH
    ? undefined
    : await loadBare(
        {
          detect: path.join(MODELS_ROOT, 'lid176/1'),
          predict: path.join(MODELS_ROOT, 'tiny-distilbert-sentiment/1'),
          translate: path.join(MODELS_ROOT, 'tiny-nllb/1'),
          completions: path.join(MODELS_ROOT, 'tiny-gpt2/1'),
        },
        INPUTS,
      );
  // Warm-up: models loaded, code paths compiled.
  for (let i = 0; i < 30; i++) {
    await call('GET', '/health');
    await call('POST', '/bench/noop', {});
    for (const cap of SELECTED) {
      await call('POST', CAPS[cap](-i - 1).path, CAPS[cap](-i - 1).body);
      await bare?.[cap](-i - 1);
    }
  }
  const deadline = Date.now() + MAX_RUN_MS;
  let rounds = 0;
  // Each round sends the five requests in a shuffled order (a seeded generator): a
  // request's position in the round (after /health, after an ingestion) must not bias an arm.
  let seed = 21;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  // A control arm per capability (no delay either, under another name): how far two
  // identical arms' p50s drift apart on this machine, the noise floor of the difference.
  // A bare arm per capability: the same input's model work in this process, no server.
  // --only-path keeps the arms pathOverRoutingMs needs.
  const arms: Array<{ cap?: Cap; route?: 'health' | 'noop'; delayed: boolean; bare?: true; name: string }> = [
    { route: 'health', delayed: false, name: 'health' },
    { route: 'noop', delayed: false, name: 'noop' },
    ...SELECTED.flatMap((cap) => [
      { cap, delayed: false, name: cap },
      ...(ONLY_PATH
        ? []
        : [
            { cap, delayed: true, name: `${cap}Delayed` },
            { cap, delayed: false, name: `${cap}Control` },
            { cap, delayed: false, bare: true as const, name: `${cap}Bare` },
          ]),
    ]),
  ];
  const timed = async (name: string, send: () => ReturnType<typeof call>) => {
    const before = process.cpuUsage();
    const answer = await send();
    const used = process.cpuUsage(before);
    push(cpuSeries, name, (used.user + used.system) / 1000);
    push(series, name, answer.ms);
    return answer;
  };
  const bareTokens: Record<string, number[]> = {};
  const apiTokens: Record<string, number[]> = {};
  for (; rounds < ROUNDS && Date.now() < deadline; rounds++) {
    const order = arms.map((arm) => ({ arm, key: random() })).sort((a, b) => a.key - b.key);
    for (const [n, { arm }] of order.entries()) {
      if (arm.route === 'health') {
        await timed('health', () => call('GET', '/health'));
        continue;
      }
      if (arm.route === 'noop') {
        await timed('noop', () => call('POST', '/bench/noop', {}));
        continue;
      }
      if (!arm.cap) continue;
      const input = rounds * arms.length + n;
      if (arm.bare) {
        const started = performance.now();
        const tokens = await bare![arm.cap](input);
        push(series, arm.name, performance.now() - started);
        push(bareTokens, arm.cap, tokens);
        continue;
      }
      delayMs = arm.delayed ? DELAY_MS : 0;
      const { path: p, body } = CAPS[arm.cap](input);
      const { json, requestId } = await timed(arm.name, () => call('POST', p, body));
      delayMs = 0;
      // In AWS the ingester is another function: its work must not land in the next request's time.
      await stack.records.settled();
      requestIds.push(requestId);
      const tokens = tokensOf(arm.cap, json);
      if (tokens !== undefined) push(apiTokens, arm.cap, tokens);
    }
  }
  await stack.records.settled();
  const client = makeDocumentClient(stack.config);
  const { QueryCommand } = await import('@aws-sdk/lib-dynamodb');
  let lost = 0;
  for (const id of requestIds) {
    const out = await client.send(
      new QueryCommand({
        TableName: stack.config.PREDICTIONS_TABLE,
        IndexName: 'byRequest',
        KeyConditionExpression: 'requestId = :r',
        ExpressionAttributeValues: { ':r': id },
      }),
    );
    if ((out.Items ?? []).length !== 1) lost += 1;
  }
  const p50 = (name: string) => median(series[name] ?? []);
  const cpuMean = (name: string) => {
    const xs = cpuSeries[name] ?? [];
    return xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : Number.NaN;
  };
  /** The figures pathOverRoutingMs is made of (--only-path: all there is). */
  const pathFigures = (cap: Cap) => ({
    pathOverRoutingMs: round(p50(cap) - p50('noop'), 3),
    cpuOverNoopMs: round(cpuMean(cap) - cpuMean('noop'), 3),
    raw: {
      healthP50Ms: round(p50('health'), 3),
      noopP50Ms: round(p50('noop'), 3),
      p50Ms: round(p50(cap), 3),
      cpuMsPerRequest: round(cpuMean(cap), 3),
      noopCpuMsPerRequest: round(cpuMean('noop'), 3),
      healthCpuMsPerRequest: round(cpuMean('health'), 3),
      samples: series[cap]?.length ?? 0,
    },
  });
  const method = ONLY_PATH
    ? 'local API, functions in-process, tiny fixtures; one keep-alive connection; health, the no-op and each capability, in a shuffled order each round; p50, CPU means'
    : 'local API, functions in-process, tiny fixtures; one keep-alive connection; health, the no-op, then per capability plain, +5ms, a plain control arm and bare inference in this process, in a shuffled order each round; p50, CPU means. inOwnProcess: each function bundle invoked back to back in a process of its own, bare inference between invocations (bench/request-path/handler-loop.ts); inOwnProcessFullSizeModel: the same on the bench models (predict, completions)';
  // Each function's handler in a process of its own, then cold start over a bare process
  // (all four), then CPU per request against pipeline() (predict).
  const own = ONLY_PATH ? undefined : await measureInOwnProcess(SELECTED, { dynamo: stack.database.endpoint });
  // The same on the full-size-shaped bench models, where the model's time is material (predict, completions).
  const ownFullSize = ONLY_PATH
    ? undefined
    : await measureInOwnProcess(SELECTED, { dynamo: stack.database.endpoint, rounds: 60, models: 'bench' });
  const cold = ONLY_PATH ? undefined : await measureColdStarts({ runs: 3 });
  const cpu = ONLY_PATH ? undefined : await measureCpuPerRequest();
  const capability = (cap: Cap) => {
    const pathOnly = pathFigures(cap);
    return ONLY_PATH
      ? pathOnly
      : {
          pathOverRoutingMs: pathOnly.pathOverRoutingMs,
          cpuOverNoopMs: pathOnly.cpuOverNoopMs,
          recordWriteAddedMs: round(p50(`${cap}Delayed`) - p50(cap), 3),
          warmP50OverBare: round(p50(cap) / p50(`${cap}Bare`), 3),
          warmOverBareBeyondRoutingP50: round((p50(cap) - p50('noop')) / p50(`${cap}Bare`), 3),
          coldOverBareMs: null,
          cpuPerRequestOverBaseline: null,
          raw: {
            ...pathOnly.raw,
            bareP50Ms: round(p50(`${cap}Bare`), 3),
            bareTokensMean: mean(bareTokens[cap]),
            apiTokensMean: mean(apiTokens[cap]),
            p50WithDynamoDelayMs: round(p50(`${cap}Delayed`), 3),
            controlP50Ms: round(p50(`${cap}Control`), 3),
            controlMinusP50Ms: round(p50(`${cap}Control`) - p50(cap), 3),
            dynamoDelayMs: DELAY_MS,
          },
          inOwnProcess: own?.[cap],
          ...(ownFullSize?.[cap] ? { inOwnProcessFullSizeModel: ownFullSize[cap] } : {}),
          ...coldFields(cold?.[cap]),
          ...(cap === 'predict' && cpu ? cpuFields(cpu) : {}),
        };
  };
  const result = {
    ...(values.validation
      ? { validation: `a short validation run (${rounds} rounds) on a shared machine: not the result` }
      : {}),
    measuredAt: new Date().toISOString(),
    machine: { ...machineInfo(loadAtStart), cpuModel: os.cpus()[0]?.model },
    method,
    rounds,
    onnxThreads: stack.config.ONNX_THREADS,
    capabilities: Object.fromEntries(SELECTED.map((cap) => [cap, capability(cap)])),
    recordsLost: lost,
  };
  if (values.out) await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  if (!ONLY_PATH && !values.validation) {
    const tmp = `${RESULTS}.tmp`;
    await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`);
    await rename(tmp, RESULTS);
  }
  console.log(JSON.stringify(result.capabilities, null, 2), `recordsLost ${lost}`);
  ok = true;
} finally {
  agent.destroy();
  await stack.close();
  await proxy?.close();
}
process.exit(ok ? 0 : 1);
