/**
 * The benchmark report (issue 9): reads the results files a `npm run bench` run wrote
 * and writes `bench/results/latest.json` (every headline figure and target, and which
 * file holds the details), `bench/results/latest.md` (the same as tables) and
 * `bench/results/latency.svg` (latency distributions: the load test, ours against the
 * baseline, and each capability's warm requests), drawn with Vega-Lite.
 *
 *   npx tsx bench/report.ts        # after the benchmarks; `npm run bench` runs it last
 */

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ROOT } from './lib.ts';

const DIR = path.join(ROOT, 'bench/results');

interface Percentiles {
  percentilesMs: number[];
}
interface LoadSide extends Percentiles {
  throughputRps: number;
  latencyMs: { p50: number; p95: number; p99: number };
  errors: number;
  cpuMsPerRequest: number;
  p95OverFairShare: number;
  fairShareMs: number;
}
interface LoadResults {
  command: string;
  date: string;
  workload: { connections: number; seconds: number };
  baseline: LoadSide;
  ours: LoadSide & {
    instances: number;
    billedDurationMsPerRequest: number;
    instanceCpuMsPerRequest: number;
    emulatorCpuMsPerRequest?: number;
  };
  throughputRatio: number;
  /** Absent from results written before the floor was measured. */
  inferenceFloor?: {
    oneThread: { cpuMs: number };
    pipelineDefault: { cpuMs: number };
    ceilingRatio: number;
    oursNonInferenceCpuMsPerRequest: number;
  };
  targets: Record<string, unknown>;
}
interface CapabilityResult {
  capability: string;
  model: string;
  route: string;
  coldStart: Record<'withoutOptimizedGraph' | 'withOptimizedGraph', { medianSpawnToFirstAnswerMs: number }>;
  warm: Percentiles & { p50Ms: number; p95Ms: number; requests: number };
  throughput: {
    requestsPerSecond: number;
    tokensPerSecondOneRequest?: number;
    batch: Record<string, number | string>;
  };
}
interface CapabilityResults {
  command: string;
  date: string;
  setting: string;
  machine: unknown;
  capabilities: CapabilityResult[];
}

const readJson = async <T>(name: string): Promise<T | undefined> => {
  const file = path.join(DIR, name);
  return existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as T) : undefined;
};

/** Rows for a cumulative distribution: the latency at each whole percentile. */
const cdfRows = (series: string, p: Percentiles) =>
  p.percentilesMs.map((ms, i) => ({ series, percentile: i + 1, ms: Math.max(ms, 0.01) }));

const svgOf = async (spec: TopLevelSpec): Promise<string> => {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
};

const chart = (load: LoadResults | undefined, caps: CapabilityResults | undefined): TopLevelSpec => {
  const panel = (title: string, rows: Array<Record<string, unknown>>, logScale: boolean) => ({
    title,
    width: 420,
    height: 260,
    data: { values: rows },
    mark: { type: 'line' as const, interpolate: 'step-after' as const },
    encoding: {
      x: {
        field: 'ms',
        type: 'quantitative' as const,
        title: 'latency (ms)',
        ...(logScale ? { scale: { type: 'log' as const } } : {}),
      },
      y: { field: 'percentile', type: 'quantitative' as const, title: 'percentile of requests' },
      color: { field: 'series', type: 'nominal' as const, title: null },
    },
  });
  const panels = [];
  if (load) {
    panels.push(
      panel(
        `Load test: ${load.workload.connections} connections, ${load.workload.seconds} s, POST /v1/predict`,
        [
          ...cdfRows(`ours (${load.ours.throughputRps} req/s)`, load.ours),
          ...cdfRows(`baseline pipeline() (${load.baseline.throughputRps} req/s)`, load.baseline),
        ],
        false,
      ),
    );
  }
  if (caps) {
    panels.push(
      panel(
        'Warm requests, one instance, one at a time',
        caps.capabilities.flatMap((c) => cdfRows(`${c.capability} (${c.model})`, c.warm)),
        true,
      ),
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    hconcat: panels,
    resolve: { scale: { color: 'independent' } },
    config: { legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 } },
  } as TopLevelSpec;
};

const table = (header: string[], rows: Array<Array<string | number>>): string =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const markdown = (latest: Record<string, unknown>, load?: LoadResults, caps?: CapabilityResults): string => {
  const out = [
    `# Benchmarks (${String(latest.date)})`,
    '',
    `\`${String(latest.command)}\` on ${JSON.stringify(latest.machine)}`,
    '',
  ];
  if (caps) {
    out.push(
      '## Capabilities',
      '',
      caps.setting,
      '',
      table(
        [
          'capability',
          'model',
          'cold start (ms)',
          'cold start, optimised graph cached (ms)',
          'warm p50 (ms)',
          'warm p95 (ms)',
          'requests/s',
          'batch',
        ],
        caps.capabilities.map((c) => {
          const { route: _r, size, medianMs: _m, ...perSecond } = c.throughput.batch;
          const [unit, rate] = Object.entries(perSecond)[0] ?? ['', ''];
          return [
            c.capability,
            c.model,
            c.coldStart.withoutOptimizedGraph.medianSpawnToFirstAnswerMs,
            c.coldStart.withOptimizedGraph.medianSpawnToFirstAnswerMs,
            c.warm.p50Ms,
            c.warm.p95Ms,
            c.throughput.requestsPerSecond,
            `${rate} ${unit.replace('PerSecond', '')}/s (batch of ${size})`,
          ];
        }),
      ),
      '',
    );
  }
  if (load) {
    const row = (name: string, s: LoadSide) => [
      name,
      s.throughputRps,
      s.latencyMs.p50,
      s.latencyMs.p95,
      s.latencyMs.p99,
      s.errors,
      s.p95OverFairShare,
      s.cpuMsPerRequest,
    ];
    out.push(
      '## Load test',
      '',
      `\`${load.command}\``,
      '',
      table(
        [
          'server',
          'requests/s',
          'p50 (ms)',
          'p95 (ms)',
          'p99 (ms)',
          'errors',
          'p95 / fair share',
          'CPU ms per request',
        ],
        [row(`ours (${load.ours.instances} instances)`, load.ours), row('baseline: pipeline()', load.baseline)],
      ),
      '',
      `Throughput ratio ${load.throughputRatio}; billed duration ${load.ours.billedDurationMsPerRequest} ms and function CPU ${load.ours.instanceCpuMsPerRequest} ms per request${load.ours.emulatorCpuMsPerRequest === undefined ? '' : ` (emulator and dynalite: ${load.ours.emulatorCpuMsPerRequest} ms more)`}.`,
      '',
      ...(load.inferenceFloor
        ? [
            `Inference floor (forward pass alone, one quiet process): ${load.inferenceFloor.oneThread.cpuMs} ms of CPU per text with one thread, ${load.inferenceFloor.pipelineDefault.cpuMs} ms through \`pipeline()\` with default threads. With nothing but the one-thread forward pass per request the ratio would be at most ${load.inferenceFloor.ceilingRatio}; our request path costs ${load.inferenceFloor.oursNonInferenceCpuMsPerRequest} ms of CPU per request above the floor.`,
            '',
          ]
        : []),
      '```json',
      JSON.stringify(load.targets, null, 2),
      '```',
      '',
    );
  }
  out.push('![latency distributions](latency.svg)', '');
  return out.join('\n');
};

const load = await readJson<LoadResults>('load.json');
const caps = await readJson<CapabilityResults>('capabilities.json');
const others = Object.fromEntries(
  await Promise.all(
    ['detect.json', 'translate.json', 'generate.json'].map(async (f) => [
      f,
      (await readJson<{ date?: string }>(f))?.date,
    ]),
  ),
);
const { percentilesMs: _lo, ...loadOurs } = load?.ours ?? ({} as LoadResults['ours']);
const { percentilesMs: _lb, ...loadBaseline } = load?.baseline ?? ({} as LoadSide);
const latest = {
  command: 'npm run bench',
  date: new Date().toISOString(),
  machine: caps?.machine,
  capabilities: caps?.capabilities.map(({ warm: { percentilesMs: _p, ...warm }, ...c }) => ({ ...c, warm })),
  load: load && {
    command: load.command,
    date: load.date,
    workload: load.workload,
    ours: loadOurs,
    baseline: loadBaseline,
    throughputRatio: load.throughputRatio,
    inferenceFloor: load.inferenceFloor,
    targets: load.targets,
  },
  details: { 'capabilities.json': caps?.date, 'load.json': load?.date, ...others },
};
await writeFile(path.join(DIR, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
await writeFile(path.join(DIR, 'latest.md'), markdown(latest, load, caps));
await writeFile(path.join(DIR, 'latency.svg'), await svgOf(chart(load, caps)));
console.log('wrote bench/results/latest.json, latest.md, latency.svg');
