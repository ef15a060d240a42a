/**
 * What the load test (bench/load.ts) and the CPU part of bench/request-path.ts share: the
 * load generator in its own process, the baseline server, our local API with instance
 * processes, and measured windows with the CPU time of each server's processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadLocalConfig } from '#local/config.ts';
import { startLocalStack } from '#local/stack.ts';
import { cpuMsOf, ownCpuMs, ROOT, runChild, WORK } from './lib.ts';

export const LOAD_KEY = 'bench-key';
export const TSX = ['--import', import.meta.resolve('tsx')];

export interface ClientResult {
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
export const load = async (
  url: string,
  seconds: number,
  texts: string[],
  connections: number,
  key?: string,
): Promise<ClientResult> => {
  const job = path.join(WORK, 'load-job.json');
  await writeFile(job, JSON.stringify({ url, key, connections, seconds, texts }));
  const { line } = await runChild(process.execPath, [...TSX, path.join(ROOT, 'bench/load-client.ts'), job]);
  return line as unknown as ClientResult;
};

/** Waits for a child's first stdout line that parses as JSON. */
const firstJsonLine = (child: ChildProcess): Promise<Record<string, string>> =>
  new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line) as Record<string, string>);
    });
  });

export interface Server {
  url: string;
  key?: string;
  /** CPU time of every process of the server so far, in ms. */
  cpuMs: () => Promise<number>;
  /** The part of it spent in this process (ours: the API Gateway emulator and dynalite). */
  emulatorCpuMs?: () => number;
  /** Waits for the requests a stopped client left in flight. */
  drained: () => Promise<void>;
  close: () => Promise<void>;
}

/** The plain pipeline() server (bench/baseline-server.ts) on `model`, in its own process. */
export const startBaseline = async (model: string): Promise<Server> => {
  const child = spawn(process.execPath, [...TSX, path.join(ROOT, 'bench/baseline-server.ts'), WORK, model], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { url } = await firstJsonLine(child);
  return {
    url: url!,
    cpuMs: () => cpuMsOf([child.pid!]),
    // One process answering in arrival order: what is in flight is done within a second.
    drained: () => new Promise((resolve) => setTimeout(resolve, 1000)),
    close: async () => {
      child.kill();
    },
  };
};

/**
 * The local API with the predict function in `instances` instance processes (the dist
 * bundles, one request at a time each), on `model` from `registry`.
 */
export const startOurs = async (registry: string, model: string, instances: number) => {
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'hfserve-load-cache-'));
  const stack = await startLocalStack(
    loadLocalConfig({
      PORT: '0',
      LOCAL_API_KEY: `${LOAD_KEY}:100000:100000`,
      LOCAL_DATA_DIR: 'memory',
      LOCAL_FUNCTION_CONCURRENCY: String(instances),
      LOCAL_FUNCTION_CODE: 'dist',
      LOCAL_EMF_ECHO: 'false',
    }),
    {
      ...process.env,
      MODELS_DIR: registry,
      MODEL_CACHE_DIR: cacheDir,
      DEFAULT_PREDICT_MODEL: model,
      LOG_LEVEL: 'INFO',
    },
    { instanceOutput: 'ignore' },
  );
  const pool = () => stack.pools.get('predict');
  const server: Server = {
    url: `${stack.url}/v1/predict`,
    key: LOAD_KEY,
    // This process runs the emulator and dynalite (and is otherwise idle while a client runs).
    cpuMs: async () => ownCpuMs() + (await cpuMsOf(pool()?.pids() ?? [])),
    emulatorCpuMs: ownCpuMs,
    drained: async () => pool()?.drained(),
    close: async () => {
      await stack.close();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
  return { server, pool };
};

/** Several measured windows of one server as one: requests, latencies and errors add up. */
export const merge = (parts: ClientResult[]): ClientResult => {
  const sum = (k: 'requests' | 'seconds' | 'errors' | 'timeouts' | 'non2xx' | 'wrongBodies' | 'textsUsed') =>
    parts.reduce((n, p) => n + p[k], 0);
  return {
    requests: sum('requests'),
    seconds: sum('seconds'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    non2xx: sum('non2xx'),
    wrongBodies: sum('wrongBodies'),
    statuses: parts.reduce<Record<string, number>>((all, p) => {
      for (const [k, v] of Object.entries(p.statuses)) all[k] = (all[k] ?? 0) + v;
      return all;
    }, {}),
    latenciesMs: parts.flatMap((p) => p.latenciesMs),
    textsUsed: sum('textsUsed'),
  };
};

/** One server's measured windows so far, and the texts it has not been sent yet. */
export interface Track {
  server: Server;
  windows: ClientResult[];
  cpuMs: number;
  emulatorCpuMs: number;
  next: number;
}

/** One measured window of a server: the load, its CPU time, then the stragglers drained. */
export const window = async (t: Track, texts: string[], seconds: number, connections: number): Promise<number> => {
  const before = await t.server.cpuMs();
  const emulatorBefore = t.server.emulatorCpuMs?.() ?? 0;
  const result = await load(t.server.url, seconds, texts.slice(t.next), connections, t.server.key);
  t.cpuMs += (await t.server.cpuMs()) - before;
  t.emulatorCpuMs += (t.server.emulatorCpuMs?.() ?? 0) - emulatorBefore;
  await t.server.drained();
  t.next += result.textsUsed;
  t.windows.push(result);
  return result.requests / result.seconds;
};
