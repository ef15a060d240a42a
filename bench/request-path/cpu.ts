/**
 * CPU per request against the plain pipeline() server (issue 21, part 4) and what a request
 * costs in Lambda (part 6): the load test's two servers side by side in one run
 * (bench/load-lib.ts), windows interleaved, on `POST /v1/predict` with the DistilBERT-shaped
 * bench model.
 *
 * - function CPU per request: the user+system time of the instance processes (what runs the
 *   function: handler, ONNX Runtime's threads, GC, the log lines; the emulator and dynalite
 *   excluded) over the requests answered;
 * - baseline CPU per request: the same for the plain server's one process (it parses HTTP
 *   and runs the same model through `pipeline()`, default threads);
 * - billed duration: each invocation's duration inside the instance rounded up to the
 *   millisecond (local/instances.ts), priced with `dollarsPerMillion` at the memory the
 *   prod stage configures; peak RSS of each instance process against that memory.
 *
 *   npx tsx bench/request-path/cpu.ts [--seconds 12]   # prints the figures
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onnxThreadsPerInstance } from '#local/stack.ts';
import { functionSettings, STAGES } from '../../infra/lib/stages.ts';
import { benchRegistry, buildFunctions, corpusSentences, round } from '../lib.ts';
import { LOAD_KEY, load, startBaseline, startOurs, type Track, window } from '../load-lib.ts';

/**
 * AWS Lambda on-demand prices, us-east-1 (https://aws.amazon.com/lambda/pricing/, as issue
 * 21's brief quoted them on 2026-12-06; not re-read from the page here, which this machine
 * cannot reach): duration per GB-second for x86 and arm (Graviton), first pricing tier, and
 * requests per million.
 */
export const LAMBDA_PRICES = {
  x86PerGbSecond: 0.0000166667,
  armPerGbSecond: 0.0000133334,
  perMillionRequests: 0.2,
} as const;

/** The stage whose configured memory prices a request: what production pays. */
export const PRICED_STAGE = 'prod' as const;

/**
 * Dollars per million requests of a function: billed duration (per request, already rounded
 * up to the millisecond per invocation) times configured memory, at each architecture's
 * price, plus the request charge.
 *
 * @example
 * dollarsPerMillion(10, 2048); // => { x86: 0.533, arm: 0.467 }
 */
export const dollarsPerMillion = (billedMsPerRequest: number, memoryMb: number): { x86: number; arm: number } => {
  const gbSeconds = (billedMsPerRequest / 1000) * (memoryMb / 1024) * 1e6;
  const at = (price: number) => round(gbSeconds * price + LAMBDA_PRICES.perMillionRequests, 3);
  return { x86: at(LAMBDA_PRICES.x86PerGbSecond), arm: at(LAMBDA_PRICES.armPerGbSecond) };
};

/** The memory the priced stage configures for a capability's function, MB. */
export const configuredMemoryMb = (fn: 'predict' | 'detect' | 'translate' | 'completions'): number =>
  functionSettings(STAGES[PRICED_STAGE], fn).memoryMb;

/** Peak resident set (VmHWM) of a process, MB, from /proc (Linux); 0 for a pid that is gone. */
export const peakRssMb = async (pid: number): Promise<number> => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return round(kb / 1024, 1);
};

const MODEL = 'distilbert-base-uncased-shape';

/**
 * Predict's CPU per request against the baseline's, billed duration, dollars per million and
 * peak RSS, from one run: `rounds` interleaved windows per server (`seconds` in all each)
 * after `warmSeconds` of warm-up each. About 2 × (warmSeconds + seconds) + 20 s.
 *
 * @example
 * const cpu = await measureCpuPerRequest({ seconds: 12 }); // => { cpuPerRequestOverBaseline: 1.12, … }
 */
export const measureCpuPerRequest = async (
  options: { seconds?: number; rounds?: number; warmSeconds?: number; connections?: number; instances?: number } = {},
) => {
  const seconds = options.seconds ?? 12;
  const rounds = options.rounds ?? 3;
  // As bench/load.ts: each instance's cold start, the optimised graph it then builds in the
  // background (1-2 s of CPU) and V8's optimising compiler stay out of the measured windows.
  const warmSeconds = options.warmSeconds ?? 10;
  const connections = options.connections ?? 32;
  const instances = options.instances ?? os.availableParallelism();
  const registry = await benchRegistry(MODEL, 'text-classification');
  const sentences = await corpusSentences();
  const warmTexts = sentences.slice(-2000);
  const texts = sentences.slice(0, -2000);
  const baseline = await startBaseline(MODEL);
  const ours = await startOurs(registry, MODEL, instances);
  const tracks: Record<'baseline' | 'ours', Track> = {
    baseline: { server: baseline, windows: [], cpuMs: 0, emulatorCpuMs: 0, next: 0 },
    ours: { server: ours.server, windows: [], cpuMs: 0, emulatorCpuMs: 0, next: 0 },
  };
  try {
    await load(baseline.url, warmSeconds, warmTexts, connections);
    await load(ours.server.url, warmSeconds, warmTexts, connections, LOAD_KEY);
    const pool = ours.pool();
    if (!pool) throw new Error('the predict function has no instance pool (LOCAL_FUNCTION_CONCURRENCY)');
    const before = { ...pool.stats };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['baseline', 'ours'] as const) : (['ours', 'baseline'] as const);
      for (const name of order) await window(tracks[name], texts, seconds / rounds, connections);
    }
    const after = { ...pool.stats };
    const rss = await Promise.all(pool.pids().map(peakRssMb));
    const requests = (t: Track) => t.windows.reduce((n, w) => n + w.requests, 0);
    const errors = (t: Track) => t.windows.reduce((n, w) => n + w.errors + w.timeouts + w.non2xx + w.wrongBodies, 0);
    // The instances' CPU: the track's processes minus this one (the emulator and dynalite).
    const functionCpuMs = (tracks.ours.cpuMs - tracks.ours.emulatorCpuMs) / requests(tracks.ours);
    const baselineCpuMs = tracks.baseline.cpuMs / requests(tracks.baseline);
    const invocations = after.invocations - before.invocations;
    const billedMs = (after.billedMs - before.billedMs) / invocations;
    const memoryMb = configuredMemoryMb('predict');
    return {
      cpuPerRequestOverBaseline: round(functionCpuMs / baselineCpuMs, 3),
      functionCpuMsPerRequest: round(functionCpuMs, 2),
      baselineCpuMsPerRequest: round(baselineCpuMs, 2),
      emulatorCpuMsPerRequest: round(tracks.ours.emulatorCpuMs / requests(tracks.ours), 2),
      invocationCpuMsPerRequest: round((after.cpuMs - before.cpuMs) / invocations, 2),
      billedMsPerRequest: round(billedMs, 2),
      dollarsPerMillion: dollarsPerMillion(billedMs, memoryMb),
      peakRssMb: Math.max(...rss),
      peakRssMbPerInstance: rss,
      configuredMemoryMb: memoryMb,
      requests: { function: requests(tracks.ours), baseline: requests(tracks.baseline) },
      errors: { function: errors(tracks.ours), baseline: errors(tracks.baseline) },
      instances,
      onnxThreadsPerInstance: onnxThreadsPerInstance(instances),
      connections,
      seconds,
      model: MODEL,
    };
  } finally {
    await baseline.close();
    await ours.server.close();
  }
};

export type CpuFigures = Awaited<ReturnType<typeof measureCpuPerRequest>>;

/** Predict's CPU fields of bench/results/request-path.json: the ratio and the raw figures of the same run. */
export const cpuFields = ({ cpuPerRequestOverBaseline, ...raw }: CpuFigures) => ({
  cpuPerRequestOverBaseline,
  cpuUnderLoad: raw,
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '12' } } });
  buildFunctions();
  console.log(JSON.stringify(await measureCpuPerRequest({ seconds: Number(values.seconds) }), null, 2));
}
