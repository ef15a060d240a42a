/**
 * Load test (issue 9): `connections` concurrent keep-alive connections for `seconds`
 * against `POST /v1/predict` on the DistilBERT-shaped bench model (67M parameters, int8),
 * through the local API with every function in instance processes that serve one request
 * at a time (LOCAL_FUNCTION_CONCURRENCY, the bundles of `npm run build`, API key,
 * throttle, prediction log and result cache in dynalite: the whole request path), and in
 * the same run the same load against the baseline: a plain server calling a
 * transformers.js `pipeline()` with default options (bench/baseline-server.ts).
 *
 *   npx tsx bench/load.ts                      # 100 connections, 30 s each, writes bench/results/load.json
 *   npx tsx bench/load.ts --seconds 10 --instances 3
 *
 * Every request carries a different corpus sentence (no cache hit is possible), the
 * load generator runs in its own process (bench/load-client.ts) and records every
 * latency. CPU time per request is the user+system time of every process of the
 * server (for ours: emulator, dynalite and instances) over the measured window divided
 * by the requests answered.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadLocalConfig } from '#local/config.ts';
import { startLocalStack } from '#local/stack.ts';
import {
  benchRegistry,
  corpusSentences,
  cpuMsOf,
  machineInfo,
  percentile,
  prepareBenchModel,
  ROOT,
  round,
  WORK,
} from './lib.ts';

const MODEL = 'distilbert-base-uncased-shape';
const RESULTS = path.join(ROOT, 'bench/results/load.json');
const KEY = 'bench-key';
/** What our source material's sentiment API reports serving (requests per second). */
const SOURCE_MATERIAL_RPS = 36;
const TARGET_VS_BASELINE = 1.3;
const TARGET_VS_SOURCE = 2;
/** p95 at most this many times the fair share (connections / throughput): nobody starves. */
const TARGET_P95_VS_FAIR_SHARE = 1.25;
const TSX = ['--import', import.meta.resolve('tsx')];

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    connections: { type: 'string', default: '100' },
    instances: { type: 'string', default: String(os.availableParallelism()) },
    'warm-seconds': { type: 'string', default: '5' },
    /** Profiling our side alone: measures no baseline and writes no results file. */
    'ours-only': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const INSTANCES = Number(values.instances);
const WARM_SECONDS = Number(values['warm-seconds']);

interface ClientResult {
  requests: number;
  seconds: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  wrongBodies: number;
  statuses: Record<string, number>;
  latenciesMs: number[];
  textsUsed: number;
}

/** Runs the load generator in its own process and returns what it measured. */
const load = async (url: string, seconds: number, texts: string[], key?: string): Promise<ClientResult> => {
  const job = path.join(WORK, 'load-job.json');
  await writeFile(job, JSON.stringify({ url, key, connections: CONNECTIONS, seconds, texts }));
  const child = spawn(process.execPath, [...TSX, path.join(ROOT, 'bench/load-client.ts'), job], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`load client exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as ClientResult;
};

/** The figures of one measured window. */
const summarize = (r: ClientResult, cpuMs: number) => {
  const throughput = r.requests / r.seconds;
  const fairShareMs = (CONNECTIONS / throughput) * 1000;
  const p95 = percentile(r.latenciesMs, 95);
  return {
    requests: r.requests,
    seconds: r.seconds,
    throughputRps: round(throughput, 1),
    latencyMs: {
      p50: round(percentile(r.latenciesMs, 50)),
      p95: round(p95),
      p99: round(percentile(r.latenciesMs, 99)),
      max: round(percentile(r.latenciesMs, 100)),
    },
    errors: r.errors + r.timeouts + r.non2xx + r.wrongBodies,
    errorBreakdown: { connection: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, wrongBodies: r.wrongBodies },
    statuses: r.statuses,
    fairShareMs: round(fairShareMs, 1),
    p95OverFairShare: round(p95 / fairShareMs, 3),
    cpuMsPerRequest: round(cpuMs / r.requests, 2),
    /** Latency at every whole percentile 1..100: the distribution the chart draws. */
    percentilesMs: Array.from({ length: 100 }, (_, i) => round(percentile(r.latenciesMs, i + 1))),
  };
};

/** Waits for a child's first stdout line that parses as JSON. */
const firstJsonLine = (child: ChildProcess): Promise<Record<string, string>> =>
  new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line) as Record<string, string>);
    });
  });

const measureBaseline = async (texts: string[], warmTexts: string[]) => {
  const child = spawn(process.execPath, [...TSX, path.join(ROOT, 'bench/baseline-server.ts'), WORK, MODEL], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const { url } = await firstJsonLine(child);
    await load(url!, WARM_SECONDS, warmTexts);
    const before = await cpuMsOf([child.pid!]);
    const result = await load(url!, SECONDS, texts);
    return summarize(result, (await cpuMsOf([child.pid!])) - before);
  } finally {
    child.kill();
  }
};

const cpuOfThisProcess = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const measureOurs = async (registry: string, texts: string[], warmTexts: string[]) => {
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'hfserve-load-cache-'));
  const stack = await startLocalStack(
    loadLocalConfig({
      PORT: '0',
      LOCAL_API_KEY: `${KEY}:100000:100000`,
      LOCAL_DATA_DIR: 'memory',
      LOCAL_FUNCTION_CONCURRENCY: String(INSTANCES),
      LOCAL_FUNCTION_CODE: 'dist',
    }),
    {
      ...process.env,
      MODELS_DIR: registry,
      MODEL_CACHE_DIR: cacheDir,
      DEFAULT_PREDICT_MODEL: MODEL,
      LOG_LEVEL: 'INFO',
    },
    { instanceOutput: 'ignore' },
  );
  try {
    const url = `${stack.url}/v1/predict`;
    await load(url, WARM_SECONDS, warmTexts, KEY);
    const pool = stack.pools.get('predict')!;
    const startedBefore = pool.stats.started;
    const stats = { ...pool.stats };
    const pids = pool.pids();
    // This process is idle but for the emulator and dynalite while the client runs.
    const before = cpuOfThisProcess() + (await cpuMsOf(pids));
    const result = await load(url, SECONDS, texts, KEY);
    const cpuMs = cpuOfThisProcess() + (await cpuMsOf(pids)) - before;
    // The client has stopped; let the invocations it left in flight finish before closing.
    await pool.drained();
    const invocations = pool.stats.invocations - stats.invocations;
    return {
      ...summarize(result, cpuMs),
      instances: INSTANCES,
      onnxThreadsPerInstance: Math.max(1, Math.floor(os.availableParallelism() / INSTANCES)),
      coldStartsDuringRun: pool.stats.started - startedBefore,
      billedDurationMsPerRequest: round((pool.stats.durationMs - stats.durationMs) / invocations, 2),
      instanceCpuMsPerRequest: round((pool.stats.cpuMs - stats.cpuMs) / invocations, 2),
      queuedInvocations: pool.stats.queued - stats.queued,
    };
  } finally {
    await stack.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
};

const loadAtStart = os.loadavg().map((l) => round(l, 2));
console.log('npm run build (the instances run the bundles, as the image does)');
const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
if (build.status !== 0) throw new Error('npm run build failed');
await prepareBenchModel(MODEL);
const registry = await benchRegistry(MODEL, 'text-classification');
const sentences = await corpusSentences();
// The warm-ups take the tail, the measured windows the head: no text is answered twice by one server.
const warmTexts = sentences.slice(-2000);
const texts = sentences.slice(0, -2000);

if (values['ours-only']) {
  const ours = await measureOurs(registry, texts, warmTexts);
  const { percentilesMs: _p, ...summary } = ours;
  console.log(JSON.stringify(summary, null, 2));
  process.exit(0);
}
console.log(`baseline: transformers.js pipeline(), ${CONNECTIONS} connections, ${SECONDS} s`);
const baseline = await measureBaseline(texts, warmTexts);
console.log(
  `  ${baseline.throughputRps} req/s, p50 ${baseline.latencyMs.p50} ms, p95 ${baseline.latencyMs.p95} ms, errors ${baseline.errors}`,
);
console.log(
  `ours: local API, ${INSTANCES} instances of the predict function, ${CONNECTIONS} connections, ${SECONDS} s`,
);
const ours = await measureOurs(registry, texts, warmTexts);
console.log(
  `  ${ours.throughputRps} req/s, p50 ${ours.latencyMs.p50} ms, p95 ${ours.latencyMs.p95} ms, errors ${ours.errors}`,
);

const ratio = round(ours.throughputRps / baseline.throughputRps, 3);
const targets = {
  zeroErrors: ours.errors === 0,
  throughputVsBaseline: { target: TARGET_VS_BASELINE, measured: ratio, met: ratio >= TARGET_VS_BASELINE },
  throughputVsSourceMaterial: {
    target: TARGET_VS_SOURCE * SOURCE_MATERIAL_RPS,
    measured: ours.throughputRps,
    met: ours.throughputRps >= TARGET_VS_SOURCE * SOURCE_MATERIAL_RPS,
  },
  p95VsFairShare: {
    target: TARGET_P95_VS_FAIR_SHARE,
    measured: ours.p95OverFairShare,
    met: ours.p95OverFairShare <= TARGET_P95_VS_FAIR_SHARE,
  },
};
const results = {
  command: `npx tsx bench/load.ts --seconds ${SECONDS} --connections ${CONNECTIONS} --instances ${INSTANCES}`,
  date: new Date().toISOString(),
  machine: machineInfo(loadAtStart),
  model: { name: MODEL, dtype: 'q8', source: 'shared/models/bench (synthetic weights, int8)' },
  route: 'POST /v1/predict',
  workload: {
    connections: CONNECTIONS,
    seconds: SECONDS,
    warmUpSeconds: WARM_SECONDS,
    distinctTexts: texts.length,
    texts: 'English sentences of shared/data/messages-parallel.tsv (4-40 words), each sent once per server',
  },
  baseline: {
    what: 'node:http + transformers.js pipeline("text-classification", { dtype: "q8" }), one process',
    ...baseline,
  },
  ours: {
    what: 'local API Gateway emulator (API key, throttle) -> instance processes (dist bundles) -> predict handler (Middy, zod, result cache and prediction log in dynalite, Powertools logs and EMF)',
    ...ours,
  },
  throughputRatio: ratio,
  targets,
};
await writeFile(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
console.log(`throughput ratio ${ratio} (target ${TARGET_VS_BASELINE}); wrote ${path.relative(ROOT, RESULTS)}`);
