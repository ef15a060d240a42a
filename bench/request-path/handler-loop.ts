/**
 * The request path with nothing else in the process (issue 21, part 1): a capability's
 * function bundle (`npm run build`, as the image runs it) invoked back to back in a child
 * process of its own, as a Lambda instance runs one function, one invocation at a time,
 * with the bare model work of the same input (bare.ts) between two invocations, in
 * alternating order. No HTTP, no emulator, no dynalite in the process: only the handler's
 * own code and the model.
 *
 * It answers what the in-emulator subtraction cannot: there the functions share one
 * process with the emulator, dynalite, the record ingester and every other capability's
 * models, and that neighbourhood slows the same code several times over (the bare model
 * work alone measures 0.46 ms for predict there, 0.18 ms here), path and model alike, so
 * `pathOverRoutingMs` is the function's own path at the emulator's speed.
 *
 * - handlerP50Ms: the handler from event to answer (the capability's whole path, the
 *   model's time included): the quantity Lambda bills as Duration;
 * - bareP50Ms: the same input's bare model work, in the same process;
 * - pathOverBareMs: the difference, the function's own code;
 * - handlerP50OverBare: their ratio, the warm path over bare inference without the client's
 *   HTTP hop and the gateway's invocation.
 *
 * With `--models bench`, predict and completions run on the full-size-shaped bench models
 * instead of the tiny fixtures (BENCH_MODEL_CAPS), where the model's time is material.
 * With `--idle-ms N` each round starts after N ms of idle time, as a request reaches an
 * instance that waited for it (Lambda's, or the emulator's instance processes): the handler
 * and the bare model work both slow down (caches and clocks cold), a property of the machine.
 *
 *   npx tsx bench/request-path/handler-loop.ts [--rounds 400] [--models bench] [--idle-ms 0] [capability ...]   # after npm run build
 *   HANDLER_LOOP_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/loop' npx tsx bench/request-path/handler-loop.ts completions
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runHandler } from '#local/run-handler.ts';
import { startDynalite } from '#local/stack.ts';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { loadConfig } from '#runtime/config.ts';
import { CAPABILITIES, eventFor, registryFor } from '../capability-cases.ts';
import { median, ROOT, round, runChild } from '../lib.ts';
import { loadBare } from './bare.ts';
import { CAPS, type Cap, INPUTS } from './requests.ts';
import { BENCH_FUNCTION_ENV, MODELS_ROOT } from './stack.ts';

const WARM_UP = 50;

/** The model completions requests name: the function's default (the fixture unless `--models bench`). */
const completionsModel = (): string => process.env.DEFAULT_COMPLETIONS_MODEL ?? 'tiny-gpt2';

/**
 * The full-size-shaped bench models (`--models bench`, ../shared/models/bench) where they can
 * run here: predict (DistilBERT-shaped) and completions (distilgpt2-shaped). Translate's bench
 * model is Marian (opus-mt), which bare.ts's NLLB layout does not drive; detect's lid.176 is
 * the fixture already.
 */
export const BENCH_MODEL_CAPS: readonly Cap[] = ['predict', 'completions'];
const benchModelEnv = async (): Promise<Record<string, string>> => {
  const of = (fn: Cap) => CAPABILITIES.find((c) => c.fn === fn)!;
  const root = await registryFor(of('predict'));
  await registryFor(of('completions'));
  await registryFor(of('detect'));
  return { MODELS_DIR: root, ...of('predict').env, ...of('completions').env, DEFAULT_DETECT_MODEL: 'lid176' };
};

export interface InOwnProcess {
  handlerP50Ms: number;
  bareP50Ms: number;
  pathOverBareMs: number;
  handlerP50OverBare: number;
  samples: number;
}

type Handler = Parameters<typeof runHandler>[0];

/** One invocation as the Lambda runtime makes it (`runHandler`: a response stream for a streaming handler). */
const invoke = async (fn: Cap, handler: Handler, i: number): Promise<void> => {
  const { path: route, body } = fn === 'completions' ? CAPS.completions(i, completionsModel()) : CAPS[fn](i);
  // As on-demand Lambda: one invocation at a time, no invoke store (AsyncLocalStorage).
  const answer = await runHandler(handler, eventFor(route, body), fn, { invokeStore: false });
  if (answer.statusCode !== 200) throw new Error(`${fn}: ${answer.statusCode} ${String(answer.body).slice(0, 300)}`);
};

/** The child: one capability, `rounds` invocation/bare pairs after a warm-up; prints one JSON line. */
const child = async (fn: Cap, rounds: number, idleMs: number): Promise<void> => {
  // run-handler.ts installed the awslambda global (response streaming) as the runtime
  // defines it before the import; one invocation at a time, as Lambda on demand: no invoke store.
  delete process.env.AWS_LAMBDA_MAX_CONCURRENCY;
  const { handler } = (await import(pathToFileURL(path.join(ROOT, `dist/functions/${fn}/handler.mjs`)).href)) as {
    handler: Handler;
  };
  // The functions' default models (and completions' requested one): bare inference loads the same bundles.
  const dir = (name: string) =>
    [process.env.MODELS_DIR ?? MODELS_ROOT, MODELS_ROOT].map((root) => path.join(root, name, '1')).find(existsSync) ??
    path.join(MODELS_ROOT, name, '1');
  const bare = await loadBare(
    {
      detect: dir(process.env.DEFAULT_DETECT_MODEL ?? 'lid176'),
      predict: dir(process.env.DEFAULT_PREDICT_MODEL ?? 'tiny-distilbert-sentiment'),
      translate: dir(process.env.DEFAULT_TRANSLATE_MODEL ?? 'tiny-nllb'),
      completions: dir(completionsModel()),
    },
    INPUTS,
  );
  for (let i = 0; i < WARM_UP; i++) {
    await invoke(fn, handler, -i - 1);
    await bare[fn](-i - 1);
  }
  const handlerMs: number[] = [];
  const bareMs: number[] = [];
  const timed = async (into: number[], run: () => Promise<unknown>) => {
    const started = performance.now();
    await run();
    into.push(performance.now() - started);
  };
  for (let r = 0; r < rounds; r++) {
    if (idleMs > 0) await new Promise((resolve) => setTimeout(resolve, idleMs));
    const one = () => timed(handlerMs, () => invoke(fn, handler, r));
    const two = () => timed(bareMs, () => bare[fn](r));
    if (r % 2 === 0) {
      await one();
      await two();
    } else {
      await two();
      await one();
    }
  }
  const result: InOwnProcess = {
    handlerP50Ms: round(median(handlerMs), 3),
    bareP50Ms: round(median(bareMs), 3),
    pathOverBareMs: round(median(handlerMs) - median(bareMs), 3),
    handlerP50OverBare: round(median(handlerMs) / median(bareMs), 3),
    samples: rounds,
  };
  // The function's own lines (records, metrics) went to stdout before: this one is last.
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

/**
 * Each capability in a child process of its own (the bundles in dist/ must be built),
 * its DynamoDB calls (model state at load) to `dynamo`.
 *
 * @example
 * const own = await measureInOwnProcess(['detect', 'predict'], { dynamo: stack.dynamoEndpoint });
 * own.predict?.pathOverBareMs; // => 0.27
 */
export const measureInOwnProcess = async (
  caps: readonly Cap[],
  options: { dynamo: string; rounds?: number; models?: 'fixtures' | 'bench'; idleMs?: number },
): Promise<Partial<Record<Cap, InOwnProcess>>> => {
  const out: Partial<Record<Cap, InOwnProcess>> = {};
  const models = options.models === 'bench' ? await benchModelEnv() : {};
  for (const fn of caps) {
    if (options.models === 'bench' && !BENCH_MODEL_CAPS.includes(fn)) continue;
    const bundle = path.join(ROOT, `dist/functions/${fn}/handler.mjs`);
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing: npm run build first`);
    const { line } = await runChild(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--child',
        fn,
        '--rounds',
        String(options.rounds ?? 400),
        '--idle-ms',
        String(options.idleMs ?? 0),
      ],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NODE_ENV: 'production',
          AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
          ...BENCH_FUNCTION_ENV,
          // As the local stack's functions: they share this machine's cores.
          ONNX_SPINNING: 'false',
          DYNAMODB_ENDPOINT: options.dynamo,
          MODEL_CACHE_DIR: path.join(ROOT, 'bench/work/handler-loop-cache'),
          // A profile of the child alone: HANDLER_LOOP_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/loop'.
          ...(process.env.HANDLER_LOOP_NODE_OPTIONS ? { NODE_OPTIONS: process.env.HANDLER_LOOP_NODE_OPTIONS } : {}),
          ...models,
        },
      },
    );
    out[fn] = line as unknown as InOwnProcess;
  }
  return out;
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      child: { type: 'string' },
      rounds: { type: 'string', default: '400' },
      models: { type: 'string', default: 'fixtures' },
      'idle-ms': { type: 'string', default: '0' },
    },
  });
  if (values.child) {
    await child(values.child as Cap, Number(values.rounds), Number(values['idle-ms']));
  } else {
    const caps = (positionals.length ? positionals : Object.keys(CAPS)) as Cap[];
    const db = await startDynalite('memory');
    const c = loadConfig({ ...BENCH_FUNCTION_ENV, DYNAMODB_ENDPOINT: db.endpoint });
    await ensureLocalTables(makeDocumentClient(c), c);
    try {
      const models = values.models === 'bench' ? 'bench' : 'fixtures';
      const figures = await measureInOwnProcess(caps, {
        dynamo: db.endpoint,
        rounds: Number(values.rounds),
        models,
        idleMs: Number(values['idle-ms']),
      });
      console.log(JSON.stringify(figures, null, 2));
    } finally {
      await db.close();
    }
  }
}
