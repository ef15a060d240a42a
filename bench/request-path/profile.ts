/**
 * Where the request path's time goes (issue 21): starts the local stack as
 * bench/request-path.ts does (functions in this process, tiny fixtures, one ONNX thread),
 * sends `--requests` detect and predict requests one at a time on a keep-alive
 * connection (each after the previous records are ingested), and keeps when each request
 * was in flight. Run it under the CPU profiler, then summarise only the samples taken
 * while a request was in flight (the ingestion between requests is left out):
 *
 *   node --cpu-prof --cpu-prof-dir=bench/work/prof --cpu-prof-interval 100 --import tsx \
 *     bench/request-path/profile.ts --requests 1000
 *   npx tsx bench/request-path/profile.ts --summarise bench/work/prof/<file>.cpuprofile [--capability predict]
 *
 * The summary lists self time per request by package or source file, by function, and by
 * the nearest frame of our own code (what in this repository called the library that
 * spent it). Sampling inflates small items; compare items with each other, not with
 * request-path.json's wall-clock figures.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, WORK } from '../lib.ts';
import { startBenchStack } from './stack.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000' },
    summarise: { type: 'string' },
    capability: { type: 'string' },
    top: { type: 'string', default: '30' },
  },
});
const WINDOWS = path.join(WORK, 'request-path-windows.json');
type Windows = Record<string, Array<[number, number]>>;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A frame's package (node_modules), repository file, or Node built-in. */
const placeOf = (url: string): string => {
  if (!url) return '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  return url.startsWith(`file://${ROOT}/`) ? url.slice(`file://${ROOT}/`.length) : url.replace(/^.*\//, '');
};

const summarise = (file: string, capability: string | undefined, top: number): void => {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const windows = JSON.parse(readFileSync(WINDOWS, 'utf8')) as Windows;
  const spans = (capability ? (windows[capability] ?? []) : Object.values(windows).flat()).sort((a, b) => a[0] - b[0]);
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node, only for samples inside a request's span (both on the monotonic clock, in µs).
  const self = new Map<number, number>();
  let at = profile.startTime;
  let span = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    while (span < spans.length && spans[span]![1] < at) span++;
    if (span < spans.length && at >= spans[span]![0]) self.set(id, (self.get(id) ?? 0) + dt);
  });
  const add = (to: Map<string, number>, key: string, us: number) => to.set(key, (to.get(key) ?? 0) + us);
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const byOwnFrame = new Map<string, number>();
  const frame = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${placeOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  for (const [id, us] of self) {
    const node = nodes.get(id)!;
    add(byPlace, placeOf(node.callFrame.url) + (node.callFrame.url ? '' : ` ${node.callFrame.functionName}`), us);
    add(byFunction, frame(node), us);
    let own: number | undefined = id;
    while (own !== undefined) {
      const url = nodes.get(own)!.callFrame.url;
      if (url.startsWith(`file://${ROOT}/`) && !url.includes('/node_modules/')) break;
      own = parent.get(own);
    }
    add(byOwnFrame, own === undefined ? '(no frame of ours on the stack)' : frame(nodes.get(own)!), us);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(
    `${spans.length} requests${capability ? ` (${capability})` : ''}: ${(total / spans.length).toFixed(0)} µs sampled a request`,
  );
  for (const [title, table] of [
    ['by package or file', byPlace],
    ['by function', byFunction],
    ['by nearest frame of ours', byOwnFrame],
  ] as const) {
    console.log(`\n${title} (µs a request, share)`);
    for (const [key, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(
        `${(us / spans.length).toFixed(1).padStart(8)} ${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`,
      );
    }
  }
};

const drive = async (requests: number): Promise<void> => {
  const key = 'profile-key';
  const stack = await startBenchStack(key);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const post = (p: string, text: string) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ text });
      const req = http.request(
        `${stack.url}${p}`,
        {
          method: 'POST',
          agent,
          headers: { 'x-api-key': key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${p}: ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const windows: Windows = { detect: [], predict: [] };
  const now = () => Number(process.hrtime.bigint() / 1000n);
  const warmUp = 100;
  try {
    for (let i = 0; i < requests + warmUp; i++) {
      for (const capability of ['detect', 'predict'] as const) {
        const started = now();
        await post(`/v1/${capability}`, `Bonjour tout le monde, message numéro ${i}.`);
        if (i >= warmUp) windows[capability]!.push([started, now()]);
        await stack.records.settled();
      }
    }
  } finally {
    agent.destroy();
    await stack.close();
  }
  await mkdir(WORK, { recursive: true });
  writeFileSync(WINDOWS, JSON.stringify(windows));
  console.log(`request spans in ${WINDOWS}; summarise the .cpuprofile with --summarise <file>`);
};

if (values.summarise) summarise(values.summarise, values.capability, Number(values.top));
else await drive(Number(values.requests));
process.exit(0);
