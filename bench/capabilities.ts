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

import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startDynalite } from '#local/stack.ts';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { loadConfig } from '#runtime/config.ts';
import { buildOptimizedGraphs } from '#runtime/optimized-graphs.ts';
import {
  CAPABILITIES,
  type Capability,
  CHILD_ENTRY,
  type ChildLine,
  eventFor,
  functionEnv,
  registryFor,
  runCold,
} from './capability-cases.ts';
import { requireBenchInputs } from './inputs.ts';
import {
  buildFunctions,
  bundleColdEntry,
  corpusSentences,
  distribution,
  machineInfo,
  median,
  ROOT,
  round,
  WORK,
} from './lib.ts';

requireBenchInputs(['capabilities']);

const RESULTS = path.join(ROOT, 'bench/results/capabilities.json');

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
  const envOf = (optimized: boolean): NodeJS.ProcessEnv =>
    functionEnv(c, { registry, cache, dynamo: dynamoEndpoint }, { ONNX_OPTIMIZED_CACHE: String(optimized) });
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
