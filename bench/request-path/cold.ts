/**
 * Cold start against a bare process (issue 21, part 5), per capability: new process to
 * first answer for the function's `npm run build` bundle (as Lambda runs it: plain node,
 * the handler imported, one API Gateway event answered) against a bare process, a plain
 * node script that imports only onnxruntime-node or transformers.js, loads the same model
 * from the same cache folder (EFS in Lambda) and answers the same request. Runs alternate
 * (function, bare, function, …) so a change in the shared machine's load falls on both.
 *
 * The function's time is decomposed with the runtime's own measures (layers/runtime/models.ts:
 * fetch, verify, session; verify runs beside the session create, so they overlap) and the
 * child's clock: process start to the handler imported (`processAndImportMs`: Node's own
 * start, the bundle, the init), and the rest of the first invocation (`firstRequestRestMs`:
 * routing, validation, tokenizer, first inference, the record).
 *
 * As behind the warm step in AWS, the timed runs find the model in the cache folder and its
 * optimised graphs built (predict, translate, completions; detect's task has none): a
 * capability whose build makes no copy gets no figures, the run fails.
 *
 *   npx tsx bench/request-path/cold.ts [--runs 5] [capability ...]   # prints the figures
 *   COLD_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/cold' npx tsx bench/request-path/cold.ts --runs 1 detect
 *
 * With COLD_FIRST_ONLY=1 each function run exits at its first answer, so a profile holds the
 * cold start and nothing after it (the warm figures of that run are then empty).
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDynalite } from '#local/stack.ts';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { loadConfig } from '#runtime/config.ts';
import { readManifest } from '#runtime/manifest.ts';
import { buildOptimizedGraphs, findOptimizedGraphs, loaderGraphs } from '#runtime/optimized-graphs.ts';
import { lambdaVcpus } from '#runtime/session-options.ts';
import {
  CAPABILITIES,
  type Capability,
  CHILD_ENTRY,
  eventFor,
  functionEnv,
  registryFor,
  runCold,
} from '../capability-cases.ts';
import { buildFunctions, bundleColdEntry, median, ROOT, round, runChild, WORK } from '../lib.ts';
import { configuredMemoryMb, dollarsPerMillion } from './cpu.ts';

/** Warm requests after the last function run's first answer: its billed duration and peak RSS. */
const WARM_REQUESTS = 20;

/**
 * The bare process: the least a script can do to answer with the model. Prints one JSON
 * line: its clock (from process start) when the libraries were imported, the model loaded
 * and the answer computed.
 */
const BARE_ENTRY = `
import { readFile } from 'node:fs/promises';
import path from 'node:path';
const [kind, dir, threadsArg, text] = process.argv.slice(2);
const threads = Number(threadsArg);
const out = {};
if (kind === 'detect') {
  const ort = await import('onnxruntime-node');
  const { Featurizer } = await import('#tasks/langid/featurizer.ts');
  out.importedMs = performance.now();
  const [spec, session] = await Promise.all([
    readFile(path.join(dir, 'featurizer.json'), 'utf8').then(JSON.parse),
    ort.InferenceSession.create(path.join(dir, 'onnx/model.onnx'), { intraOpNumThreads: threads }),
  ]);
  const featurizer = new Featurizer(spec);
  out.loadedMs = performance.now();
  const rows = featurizer.featurize(text);
  const r = await session.run({
    ids: new ort.Tensor('int64', BigInt64Array.from(rows.map(BigInt)), [1, rows.length]),
    mask: new ort.Tensor('float32', new Float32Array(rows.length).fill(1), [1, rows.length]),
  });
  const p = r.probabilities.data;
  out.answer = spec.labels[p.indexOf(Math.max(...p))];
} else {
  const t = await import('@huggingface/transformers');
  out.importedMs = performance.now();
  t.env.allowRemoteModels = false;
  t.env.localModelPath = path.dirname(path.dirname(dir)) + '/';
  const id = path.basename(path.dirname(dir)) + '/' + path.basename(dir);
  const options = { dtype: 'q8', session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 } };
  const Model = kind === 'predict' ? t.AutoModelForSequenceClassification
    : kind === 'translate' ? t.AutoModelForSeq2SeqLM : t.AutoModelForCausalLM;
  const [tokenizer, model] = await Promise.all([t.AutoTokenizer.from_pretrained(id), Model.from_pretrained(id, options)]);
  out.loadedMs = performance.now();
  const inputs = tokenizer(text);
  if (kind === 'predict') {
    const { logits } = await model(inputs);
    out.answer = logits.data.length;
  } else {
    const max_new_tokens = kind === 'translate' ? 24 : 32;
    const ids = await model.generate({ ...inputs, max_new_tokens, do_sample: false });
    out.answer = tokenizer.batch_decode(ids, { skip_special_tokens: true })[0];
  }
}
out.answeredMs = performance.now();
process.stdout.write('FIRST_ANSWER\\n');
console.log(JSON.stringify(out));
process.exit(0);
`;

interface BareLine {
  importedMs: number;
  loadedMs: number;
  answeredMs: number;
}

const med = (xs: number[]) => round(median(xs));

/**
 * Builds the bundle's optimised graphs and answers whether it has any (false: its task has
 * no graphs to optimise, as detect's). Throws when a task that has graphs gets no copy: the
 * timed runs would measure the original graphs, not what a warm-stepped instance loads.
 */
const requireOptimizedGraphs = async (c: Capability, dir: string, cacheDir: string): Promise<boolean> => {
  if (loaderGraphs(await readManifest(dir)).length === 0) return false;
  const built = await buildOptimizedGraphs(dir, { cacheDir });
  if ('reason' in built) {
    throw new Error(`${c.fn}: no optimised graphs (${built.status}: ${built.reason}); no figures for it`);
  }
  if (!(await findOptimizedGraphs(dir, { cacheDir })))
    throw new Error(`${c.fn}: the optimised graphs built are not found`);
  return true;
};

/** Cold start of one capability: the function and the bare process, `runs` each, alternating. */
const coldOf = async (c: Capability, children: { fn: string; bare: string }, dynamo: string, runs: number) => {
  const registry = await registryFor(c);
  const cache = path.join(WORK, `cold-cache-${c.fn}`);
  await rm(cache, { recursive: true, force: true });
  // Text like the CPU part's (a sentence of the corpus's length), fixed: both sides answer it.
  const text = 'The weather was lovely this morning, so we walked to the market together.';
  const events = path.join(WORK, `cold-events-${c.fn}.json`);
  const warmEvents = path.join(WORK, `cold-events-${c.fn}-warm.json`);
  const cold = eventFor(c.path, c.body(text));
  await writeFile(events, JSON.stringify({ cold, warm: [], batch: [] }));
  const warm = Array.from({ length: WARM_REQUESTS }, (_, i) => eventFor(c.path, c.body(`${text} (${i + 1})`)));
  await writeFile(warmEvents, JSON.stringify({ cold, warm, batch: [] }));
  // Both processes get the vCPUs Lambda gives the function at its configured memory.
  const memoryMb = configuredMemoryMb(c.fn);
  const threads = lambdaVcpus(memoryMb);
  const env = functionEnv(
    c,
    { registry, cache, dynamo },
    {
      ONNX_THREADS: String(threads),
      // As deployed: a cold load opens this environment's optimised graphs when there are some.
      ONNX_OPTIMIZED_CACHE: 'true',
      LOG_LEVEL: 'WARN',
      // COLD_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/cold' profiles every function run.
      ...(process.env.COLD_NODE_OPTIONS ? { NODE_OPTIONS: process.env.COLD_NODE_OPTIONS } : {}),
      // COLD_FIRST_ONLY=1: each function run exits at its first answer (a profile of the cold start alone).
      ...(process.env.COLD_FIRST_ONLY ? { COLD_FIRST_ONLY: process.env.COLD_FIRST_ONLY } : {}),
    },
  );
  const bundle = path.join(ROOT, `dist/functions/${c.fn}/handler.mjs`);
  const dir = path.join(cache, c.model, '1');
  // The fill run fetches the model into the cache folder (the warm step's job in AWS)
  // without the optimised-graph cache: with it, the fill process would queue a background
  // build and exit in its middle, leaving the build's lock (stale only after minutes), so
  // the build below would answer "busy" and every timed run load the original graphs.
  await runCold(children.fn, [bundle, events], { ...env, ONNX_OPTIMIZED_CACHE: 'false' });
  // Then the optimised graphs are built as the warm step builds them: later runs find both.
  const optimizedGraphs = await requireOptimizedGraphs(c, dir, cache);
  const fn: Awaited<ReturnType<typeof runCold>>[] = [];
  const bare: Array<BareLine & { wallMs: number }> = [];
  for (let i = 0; i < runs; i++) {
    fn.push(await runCold(children.fn, [bundle, i === runs - 1 ? warmEvents : events], env));
    const b = await runChild(process.execPath, [children.bare, c.fn, dir, String(threads), text], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      until: 'FIRST_ANSWER',
    });
    bare.push({ ...(b.line as unknown as BareLine), wallMs: b.wallMs });
  }
  // A copy discarded by a timed run (a failed check or load) would leave the others without it.
  if (optimizedGraphs && !(await findOptimizedGraphs(dir, { cacheDir: cache }))) {
    throw new Error(`${c.fn}: the optimised graphs were gone after the timed runs; no figures for it`);
  }
  const phase = (name: string) => med(fn.map((r) => r.phases[name] ?? 0));
  const functionMs = med(fn.map((r) => r.wallMs));
  const bareMs = med(bare.map((r) => r.wallMs));
  const last = fn.at(-1);
  const billedMs = last ? last.warm.reduce((n, w) => n + Math.ceil(w.ms), 0) / last.warm.length : Number.NaN;
  return {
    coldOverBareMs: round(functionMs - bareMs),
    functionSpawnToFirstAnswerMs: functionMs,
    bareSpawnToFirstAnswerMs: bareMs,
    functionRunsMs: fn.map((r) => round(r.wallMs)),
    bareRunsMs: bare.map((r) => round(r.wallMs)),
    decomposition: {
      processAndImportMs: med(fn.map((r) => r.importedMs)),
      modelFetchMs: phase('fetch'),
      // Reading and hashing files: 0 when every file's stamp held (layers/runtime/verified.ts).
      verifyHashMs: phase('hash'),
      // The check's wall time: it runs beside the session create, which holds the event loop.
      verifyWallMs: phase('verify'),
      sessionCreateMs: phase('session'),
      firstRequestRestMs: med(fn.map((r) => r.firstInvokeMs - (r.phases.fetch ?? 0) - (r.phases.session ?? 0))),
      firstInvocationMs: med(fn.map((r) => r.firstInvokeMs)),
    },
    bareDecomposition: {
      processAndImportMs: med(bare.map((r) => r.importedMs)),
      modelLoadMs: med(bare.map((r) => r.loadedMs - r.importedMs)),
      firstAnswerMs: med(bare.map((r) => r.answeredMs - r.loadedMs)),
    },
    warm: {
      requests: last?.warm.length ?? 0,
      p50Ms: med(last?.warm.map((w) => w.ms) ?? []),
      billedMsPerRequest: round(billedMs, 2),
    },
    dollarsPerMillion: dollarsPerMillion(billedMs, memoryMb),
    peakRssMb: round(last?.maxRssMb ?? 0),
    configuredMemoryMb: memoryMb,
    model: c.model,
    optimizedGraphs,
    threads,
    runs,
  };
};

export type ColdFigures = Awaited<ReturnType<typeof coldOf>>;

/**
 * Cold start over a bare process for each capability (the functions must be built:
 * `buildFunctions()` of bench/lib.ts). Bounded: about 4 × (2 × runs + 1) processes.
 *
 * @example
 * const cold = await measureColdStarts({ runs: 5 }); // => { detect: { coldOverBareMs: 61.2, … }, … }
 */
export const measureColdStarts = async (
  options: { runs?: number; only?: readonly Capability['fn'][] } = {},
): Promise<Partial<Record<Capability['fn'], ColdFigures>>> => {
  const runs = options.runs ?? 5;
  const children = {
    fn: await bundleColdEntry('capability', CHILD_ENTRY),
    bare: await bundleColdEntry('bare', BARE_ENTRY),
  };
  const db = await startDynalite('memory');
  try {
    const config = loadConfig({ ...process.env, DYNAMODB_ENDPOINT: db.endpoint });
    await ensureLocalTables(makeDocumentClient(config), config);
    const out: Partial<Record<Capability['fn'], ColdFigures>> = {};
    for (const c of CAPABILITIES.filter((x) => !options.only?.length || options.only.includes(x.fn))) {
      out[c.fn] = await coldOf(c, children, db.endpoint, runs);
      console.log(
        `cold ${c.fn}: function ${out[c.fn]?.functionSpawnToFirstAnswerMs} ms, bare ${out[c.fn]?.bareSpawnToFirstAnswerMs} ms`,
      );
    }
    return out;
  } finally {
    await db.close();
  }
};

/**
 * A capability's cold-start and cost fields of bench/results/request-path.json: the ratio's
 * figure, dollars per million and peak RSS (from the warm requests of one instance), and the
 * raw figures behind them. Empty when the capability was not measured.
 */
export const coldFields = (f: ColdFigures | undefined) =>
  f
    ? {
        coldOverBareMs: f.coldOverBareMs,
        dollarsPerMillion: f.dollarsPerMillion,
        peakRssMb: f.peakRssMb,
        configuredMemoryMb: f.configuredMemoryMb,
        cold: {
          functionSpawnToFirstAnswerMs: f.functionSpawnToFirstAnswerMs,
          bareSpawnToFirstAnswerMs: f.bareSpawnToFirstAnswerMs,
          functionRunsMs: f.functionRunsMs,
          bareRunsMs: f.bareRunsMs,
          decomposition: f.decomposition,
          bareDecomposition: f.bareDecomposition,
          model: f.model,
          optimizedGraphs: f.optimizedGraphs,
          threads: f.threads,
        },
        warm: f.warm,
      }
    : {};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { runs: { type: 'string', default: '5' } },
  });
  buildFunctions();
  const figures = await measureColdStarts({
    runs: Number(values.runs),
    only: positionals as Capability['fn'][],
  });
  console.log(JSON.stringify(figures, null, 2));
}
