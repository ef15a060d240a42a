/**
 * Per-capability benchmark (issue 9): for predict, detect, translate and completions, the
 * function as Lambda runs it (the `npm run build` bundle, invoked with API Gateway
 * events, the model in a cache folder on local disk standing in for EFS, the prediction
 * log in dynalite):
 *
 * - cold start: a new Node process (plain `node`, no TypeScript loader) from spawn to the
 *   first answer, with and without the cached pre-optimised ONNX graph
 *   (ONNX_OPTIMIZED_CACHE);
 * - warm latency p50/p95 over distinct inputs in that process, one request at a time;
 * - throughput of one instance: requests per second back to back, and items (texts or
 *   tokens) per second for a batch.
 *
 *   npx tsx bench/capabilities.ts                 # all four, writes bench/results/capabilities.json
 *   npx tsx bench/capabilities.ts --cold-runs 3 --warm 50 predict
 *
 * Models: the full-size-shaped bench models of ../shared/models/bench (synthetic int8
 * weights: speed is real, outputs are not) and the real lid.176 for detect.
 */

import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { proxyEvent } from '#local/events.ts';
import { startDynalite } from '#local/stack.ts';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { loadConfig } from '#runtime/config.ts';
import { buildOptimizedGraphs } from '#runtime/optimized-graphs.ts';
import { requireBenchInputs } from './inputs.ts';
import {
  benchRegistry,
  buildFunctions,
  bundleColdEntry,
  corpusSentences,
  distribution,
  machineInfo,
  median,
  ROOT,
  round,
  runChild,
  WORK,
} from './lib.ts';

requireBenchInputs(['capabilities']);

const RESULTS = path.join(ROOT, 'bench/results/capabilities.json');

interface Capability {
  fn: 'predict' | 'detect' | 'translate' | 'completions';
  model: string;
  /** Bench model to decompress, or a fixture folder already in the layout. */
  source: { bench: string; task: Parameters<typeof benchRegistry>[1] } | { fixture: string };
  env: Record<string, string>;
  path: string;
  body: (text: string) => Record<string, unknown>;
  batch: { path: string; size: number; body: (texts: string[]) => Record<string, unknown> };
  /** What one item of the batch is, for items per second. */
  items: 'texts' | 'tokens';
}

const CAPABILITIES: Capability[] = [
  {
    fn: 'predict',
    model: 'distilbert-base-uncased-shape',
    source: { bench: 'distilbert-base-uncased-shape', task: 'text-classification' },
    env: { DEFAULT_PREDICT_MODEL: 'distilbert-base-uncased-shape' },
    path: '/v1/predict',
    body: (text) => ({ text }),
    batch: { path: '/v1/predict/batch', size: 32, body: (texts) => ({ texts }) },
    items: 'texts',
  },
  {
    fn: 'detect',
    model: 'lid176',
    source: { fixture: 'lid176' },
    env: { DEFAULT_DETECT_MODEL: 'lid176' },
    path: '/v1/detect',
    body: (text) => ({ text }),
    batch: { path: '/v1/detect', size: 64, body: (texts) => ({ texts }) },
    items: 'texts',
  },
  {
    fn: 'translate',
    model: 'opus-mt-en-de-shape',
    source: { bench: 'opus-mt-en-de-shape', task: 'translation' },
    env: { DEFAULT_TRANSLATE_MODEL: 'opus-mt-en-de-shape' },
    path: '/v1/translate',
    // The weights are random: without a bound every output runs to the default length cap.
    body: (text) => ({ text, source_language: 'eng_Latn', target_language: 'deu_Latn', max_new_tokens: 24 }),
    batch: {
      path: '/v1/translate',
      size: 8,
      body: (texts) => ({ texts, source_language: 'eng_Latn', target_language: 'deu_Latn', max_new_tokens: 24 }),
    },
    items: 'texts',
  },
  {
    fn: 'completions',
    model: 'distilgpt2-shape',
    source: { bench: 'distilgpt2-shape', task: 'text-generation' },
    env: { DEFAULT_COMPLETIONS_MODEL: 'distilgpt2-shape' },
    path: '/v1/completions',
    body: (text) => ({ model: 'distilgpt2-shape', prompt: text, max_tokens: 32, temperature: 0 }),
    batch: {
      path: '/v1/completions',
      size: 4,
      body: (texts) => ({ model: 'distilgpt2-shape', prompt: texts, max_tokens: 32, temperature: 0 }),
    },
    items: 'tokens',
  },
];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'cold-runs': { type: 'string', default: '5' },
    warm: { type: 'string', default: '100' },
    batches: { type: 'string', default: '5' },
  },
});
const COLD_RUNS = Number(values['cold-runs']);
const WARM = Number(values.warm);
const BATCHES = Number(values.batches);
const unknown = positionals.filter((p) => !CAPABILITIES.some((c) => c.fn === p));
if (unknown.length) {
  console.error(`Unknown capability: ${unknown.join(', ')}. Choose from ${CAPABILITIES.map((c) => c.fn).join(', ')}.`);
  process.exit(2);
}
const chosen = CAPABILITIES.filter((c) => positionals.length === 0 || positionals.includes(c.fn));

/**
 * The child: plain Node running a bundle of this entry (as the image runs bundles). It
 * imports the handler (Lambda's init), answers the first event, then the warm and batch
 * events one at a time, and prints one JSON line. Its clock starts with the process.
 */
const CHILD_ENTRY = `
import '#local/lambda-shim.ts';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { lambdaContext } from '#local/events.ts';
import { STREAMING } from '#local/lambda-shim.ts';
const [handlerFile, eventsFile] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(handlerFile).href);
const importedMs = performance.now();
const events = JSON.parse(readFileSync(eventsFile, 'utf8'));
const invoke = async (event) => {
  const started = performance.now();
  let status = 0;
  let body = '';
  if (handler[STREAMING]) {
    const chunks = [];
    const stream = new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } });
    stream.setMetadata = (m) => { status = m.statusCode ?? 200; };
    await handler(event, stream, lambdaContext('bench', 28000));
    body = Buffer.concat(chunks).toString('utf8');
  } else {
    const r = await handler(event, lambdaContext('bench', 28000));
    status = r.statusCode;
    body = r.body;
  }
  const ms = performance.now() - started;
  if (status !== 200) throw new Error('status ' + status + ': ' + body.slice(0, 300));
  const usage = JSON.parse(body).usage;
  return { ms, tokens: usage ? usage.completion_tokens : undefined };
};
const first = await invoke(events.cold);
const firstAnswerMs = performance.now();
process.stdout.write('FIRST_ANSWER\\n');
const warm = [];
for (const e of events.warm) warm.push(await invoke(e));
const batch = [];
for (const e of events.batch) batch.push(await invoke(e));
console.log(JSON.stringify({ bench: true, importedMs, firstInvokeMs: first.ms, firstAnswerMs, warm, batch }));
process.exit(0);
`;

interface ChildLine {
  importedMs: number;
  firstInvokeMs: number;
  firstAnswerMs: number;
  warm: Array<{ ms: number; tokens?: number }>;
  batch: Array<{ ms: number; tokens?: number }>;
}

const eventFor = (p: string, body: unknown) =>
  proxyEvent({
    method: 'POST',
    resource: p,
    path: p,
    pathParameters: null,
    headers: { 'content-type': 'application/json' },
    query: new URLSearchParams(),
    body: JSON.stringify(body),
    apiKeyId: 'bench',
  });

/** Runs one child; `wallMs` is spawn to its first answer (process creation, init, model load, inference), as a caller waits for it. */
const runCold = async (
  child: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ChildLine & { wallMs: number }> => {
  const { wallMs, line } = await runChild(process.execPath, ['--enable-source-maps', child, ...args], {
    env,
    until: 'FIRST_ANSWER',
  });
  return { ...(line as unknown as ChildLine), wallMs };
};

const registryFor = async (c: Capability): Promise<string> => {
  const root = path.join(WORK, 'registry');
  if ('bench' in c.source) return benchRegistry(c.source.bench, c.source.task);
  await mkdir(root, { recursive: true });
  await symlink(path.join(ROOT, 'test/fixtures/models', c.source.fixture), path.join(root, c.source.fixture)).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    },
  );
  return root;
};

const measure = async (c: Capability, child: string, dynamoEndpoint: string, sentences: string[]) => {
  const registry = await registryFor(c);
  const cache = path.join(WORK, `cache-${c.fn}`);
  await rm(cache, { recursive: true, force: true });
  const eventsFile = path.join(WORK, `events-${c.fn}.json`);
  // The runs whose warm and batch phases nobody reads (the fill, every cold run but the last) answer the cold request alone.
  const coldOnlyFile = path.join(WORK, `events-${c.fn}-cold.json`);
  const texts = sentences.slice(0, WARM + BATCHES * c.batch.size + 1);
  const coldEvent = eventFor(c.path, c.body(texts[0]!));
  await writeFile(coldOnlyFile, JSON.stringify({ cold: coldEvent, warm: [], batch: [] }));
  await writeFile(
    eventsFile,
    JSON.stringify({
      cold: coldEvent,
      warm: texts.slice(1, WARM + 1).map((t) => eventFor(c.path, c.body(t))),
      batch: Array.from({ length: BATCHES }, (_, i) =>
        eventFor(
          c.batch.path,
          c.batch.body(texts.slice(WARM + 1 + i * c.batch.size, WARM + 1 + (i + 1) * c.batch.size)),
        ),
      ),
    }),
  );
  const envOf = (optimized: boolean): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    MODELS_DIR: registry,
    MODEL_CACHE_DIR: cache,
    DYNAMODB_ENDPOINT: dynamoEndpoint,
    ONNX_OPTIMIZED_CACHE: String(optimized),
    ...c.env,
  });
  // The first run fills the cache folder from the registry (a fetch from S3 in AWS): not a
  // measured run. Then the optimised graphs are built as the warm step builds them.
  const bundle = path.join(ROOT, `dist/functions/${c.fn}/handler.mjs`);
  const fill = await runCold(child, [bundle, coldOnlyFile], envOf(false));
  const built = await buildOptimizedGraphs(path.join(cache, c.model, '1'), { cacheDir: cache });
  const cold = async (optimized: boolean) => {
    const runs: Array<ChildLine & { wallMs: number }> = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      runs.push(await runCold(child, [bundle, i === COLD_RUNS - 1 ? eventsFile : coldOnlyFile], envOf(optimized)));
    }
    return {
      medianSpawnToFirstAnswerMs: round(median(runs.map((r) => r.wallMs))),
      medianProcessStartToFirstAnswerMs: round(median(runs.map((r) => r.firstAnswerMs))),
      medianInitMs: round(median(runs.map((r) => r.importedMs))),
      medianFirstInvocationMs: round(median(runs.map((r) => r.firstInvokeMs))),
      runsSpawnToFirstAnswerMs: runs.map((r) => round(r.wallMs)),
      last: runs.at(-1)!,
    };
  };
  const without = await cold(false);
  const withOptimized = await cold(true);
  // Warm figures come from the last process of each series: WARM requests each.
  const warm = [...without.last.warm, ...withOptimized.last.warm].map((w) => w.ms);
  const warmLatency = distribution(warm);
  const batchRuns = withOptimized.last.batch;
  const batchMs = median(batchRuns.map((b) => b.ms));
  const batchItems = c.items === 'tokens' ? median(batchRuns.map((b) => b.tokens ?? 0)) : c.batch.size;
  const warmTokens = withOptimized.last.warm.map((w) => w.tokens ?? 0);
  const { last: _a, ...coldWithout } = without;
  const { last: _b, ...coldWith } = withOptimized;
  return {
    capability: c.fn,
    model: c.model,
    route: `POST ${c.path}`,
    request: c.body('<text>'),
    fillRunSpawnToFirstAnswerMs: round(fill.wallMs),
    optimizedGraphBuild: { status: built.status, ms: built.ms },
    coldStart: { withoutOptimizedGraph: coldWithout, withOptimizedGraph: coldWith },
    warm: {
      requests: warm.length,
      p50Ms: round(warmLatency.at(50), 2),
      p95Ms: round(warmLatency.at(95), 2),
      p99Ms: round(warmLatency.at(99), 2),
      percentilesMs: warmLatency.percentiles(2),
    },
    throughput: {
      requestsPerSecond: round(1000 / (warm.reduce((a, b) => a + b, 0) / warm.length), 1),
      ...(c.items === 'tokens'
        ? { tokensPerSecondOneRequest: round((median(warmTokens) * 1000) / warmLatency.at(50), 1) }
        : {}),
      batch: {
        route: `POST ${c.batch.path}`,
        size: c.batch.size,
        medianMs: round(batchMs, 1),
        [`${c.items}PerSecond`]: round((batchItems * 1000) / batchMs, 1),
      },
    },
  };
};

const loadAtStart = os.loadavg().map((l) => round(l, 2));
buildFunctions();
const child = await bundleColdEntry('capability', CHILD_ENTRY);
const db = await startDynalite('memory');
const config = loadConfig({ ...process.env, DYNAMODB_ENDPOINT: db.endpoint });
await ensureLocalTables(makeDocumentClient(config), config);
const sentences = await corpusSentences(6, 30);
const results = [];
for (const c of chosen) {
  console.log(`\n== ${c.fn} (${c.model})`);
  const r = await measure(c, child, db.endpoint, sentences);
  const w = r.coldStart.withoutOptimizedGraph.medianSpawnToFirstAnswerMs;
  const o = r.coldStart.withOptimizedGraph.medianSpawnToFirstAnswerMs;
  console.log(
    `  cold ${w} ms (optimised graph cached: ${o} ms), warm p50 ${r.warm.p50Ms} ms p95 ${r.warm.p95Ms} ms, ${r.throughput.requestsPerSecond} req/s`,
  );
  results.push(r);
}
await db.close();
await mkdir(path.dirname(RESULTS), { recursive: true });
await writeFile(
  RESULTS,
  `${JSON.stringify(
    {
      command: `npx tsx bench/capabilities.ts --cold-runs ${COLD_RUNS} --warm ${WARM} --batches ${BATCHES}`,
      date: new Date().toISOString(),
      machine: machineInfo(loadAtStart),
      setting:
        'one instance: the dist bundle in a new plain-node process, ONNX threads = all cores, model in a local cache folder (EFS), prediction log in dynalite',
      capabilities: results,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${path.relative(ROOT, RESULTS)}`);
