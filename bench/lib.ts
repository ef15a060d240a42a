import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { percentile } from '#predictions/analytics.ts';
import { MANIFEST_FILE, type Task, writeManifest } from '#runtime/manifest.ts';
import { BENCH_CORPUS, BENCH_MODELS } from './inputs.ts';

/** Shared by the benchmarks: statistics, the decompressed bench models, cold-start children. */
export const ROOT = path.resolve(import.meta.dirname, '..');
export const WORK = path.join(ROOT, 'bench/work');

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Decompresses a bench model (BENCH_MODELS: `../shared/models/bench` by default; its `onnx/*.onnx.gz`) into
 * `bench/work/<name>` once (gitignored) and returns that folder.
 */
export const prepareBenchModel = async (name: string): Promise<string> => {
  const source = path.join(BENCH_MODELS, name);
  const bundle = path.join(WORK, name);
  const marker = path.join(bundle, '.complete');
  if (existsSync(marker)) return bundle;
  await mkdir(path.join(bundle, 'onnx'), { recursive: true });
  for (const file of await readdir(source)) {
    if (file.endsWith('.json')) await copyFile(path.join(source, file), path.join(bundle, file));
  }
  for (const file of await readdir(path.join(source, 'onnx'))) {
    if (!file.endsWith('.gz')) continue;
    const out = path.join(bundle, 'onnx', file.slice(0, -3));
    await streamPipeline(
      createReadStream(path.join(source, 'onnx', file)),
      createGunzip(),
      createWriteStream(`${out}.tmp`),
    );
    await rename(`${out}.tmp`, out);
  }
  await writeFile(marker, '');
  return bundle;
};

/**
 * Bundles a cold-start child script with esbuild, as the Lambda image ships code (no
 * TypeScript loader at run time), and returns the bundle's path.
 */
export const bundleColdEntry = async (
  name: string,
  source: string,
  options: { external?: string[]; plugins?: Plugin[] } = {},
): Promise<string> => {
  await mkdir(WORK, { recursive: true });
  const entry = path.join(WORK, `${name}-cold-entry.ts`);
  const bundle = path.join(WORK, `${name}-cold.mjs`);
  await writeFile(entry, source);
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bundle,
    external: options.external ?? ['@huggingface/transformers', 'onnxruntime-node'],
    plugins: options.plugins ?? [],
    logLevel: 'warning',
  });
  return bundle;
};

/**
 * Spawns a child and returns the JSON of its last stdout line plus the wall time from
 * spawn to exit as the parent saw it, or from spawn to the stdout line `until` when given
 * (a cold start's first answer, before the child goes on to measure more).
 */
export const runChild = async (
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; until?: string } = {},
): Promise<{ wallMs: number; line: Record<string, unknown> }> => {
  const started = performance.now();
  const child = spawn(cmd, args, { env: options.env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let untilAt: number | undefined;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (options.until && untilAt === undefined && out.includes(`${options.until}\n`)) untilAt = performance.now();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0 || (options.until && untilAt === undefined)) {
    const name = path.basename(args.find((a) => !a.startsWith('-')) ?? cmd);
    throw new Error(`${name} exited with ${code}: ${out.slice(-500)}`);
  }
  return {
    wallMs: (untilAt ?? performance.now()) - started,
    line: JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>,
  };
};

/**
 * `npm run build`: the capability and load benchmarks run the functions' bundles, as the
 * image does. Once per `npm run bench`: bench/run.ts builds first and tells its children.
 */
export const buildFunctions = (): void => {
  if (process.env.BENCH_FUNCTIONS_BUILT === '1') return;
  console.log('npm run build (the functions run as bundles, as in the image)');
  if (spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) {
    throw new Error('npm run build failed');
  }
};

/** Rounds every number of a record (for results files). */
export const roundAll = (record: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v]));

/** The machine a results file was measured on, with the load before and after the run. */
export const machineInfo = (loadAverageAtStart: number[]) => ({
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  loadAverageAtStart,
  loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)),
  node: process.version,
});

/**
 * A registry folder holding one decompressed bench model as bundle `<name>/1` (files
 * hard-linked, manifest with checksums), so the functions load it exactly as they load a
 * published model; returns the registry root.
 */
export const benchRegistry = async (name: string, task: Task): Promise<string> => {
  const model = await prepareBenchModel(name);
  const root = path.join(WORK, 'registry');
  const bundle = path.join(root, name, '1');
  if (existsSync(path.join(bundle, MANIFEST_FILE))) return root;
  await mkdir(path.join(bundle, 'onnx'), { recursive: true });
  const files = [
    ...(await readdir(model)).filter((f) => f.endsWith('.json')),
    ...(await readdir(path.join(model, 'onnx'))).map((f) => `onnx/${f}`),
  ];
  for (const rel of files) {
    // A bundle folder left by an interrupted run may hold some links already.
    await link(path.join(model, rel), path.join(bundle, rel)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  // The bench models ship int8 weights alone.
  await writeManifest(bundle, { name, version: '1', task, dtype: 'q8', source: { type: 'local', path: model } });
  return root;
};

/**
 * English sentences of the corpus (BENCH_CORPUS: `../shared/data/messages-parallel.tsv` by default), each
 * once, in corpus order: distinct request bodies, so no answer comes from a cache.
 */
export const corpusSentences = async (minWords = 4, maxWords = 40): Promise<string[]> => {
  const tsv = await readFile(BENCH_CORPUS, 'utf8');
  const seen = new Set<string>();
  for (const line of tsv.split('\n').slice(1)) {
    const english = line.split('\t')[2]?.trim();
    if (!english) continue;
    const words = english.split(/\s+/).length;
    if (words >= minWords && words <= maxWords) seen.add(english);
  }
  return [...seen];
};

/**
 * A sample sorted once, for its nearest-rank percentiles (the analytics endpoints' own
 * definition, `percentile` of layers/predictions/analytics.ts).
 *
 * @example
 * distribution([5, 1, 3]).at(50); // => 3
 */
export const distribution = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (p: number): number => percentile(sorted, p) ?? Number.NaN;
  /** Every whole percentile 1..100, rounded: the distribution a chart draws. */
  const percentiles = (digits = 1): number[] => Array.from({ length: 100 }, (_, i) => round(at(i + 1), digits));
  return { at, percentiles };
};

/** User + system CPU time of this process so far (all its threads), in ms. */
export const ownCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** User + system CPU time of processes, in ms, from /proc (Linux); 0 for a pid that is gone. */
export const cpuMsOf = async (pids: number[]): Promise<number> => {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces) in parentheses: utime is the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return (ticks * 1000) / CLOCK_TICKS;
};
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
