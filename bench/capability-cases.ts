/**
 * The four capabilities as the benchmarks run them (bench/capabilities.ts, and the cold
 * start and CPU parts of bench/request-path.ts): bench model, route, request, and the
 * cold-start child that runs a function's `npm run build` bundle in a new plain-node
 * process, as Lambda does.
 */
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { proxyEvent } from '#local/events.ts';
import { benchRegistry, ROOT, runChild, WORK } from './lib.ts';

export interface Capability {
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

export const CAPABILITIES: Capability[] = [
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

/**
 * The child: plain Node running a bundle of this entry (as the image runs bundles). It
 * imports the handler (Lambda's init), answers the first event, then the warm and batch
 * events one at a time, and prints one JSON line. Its clock starts with the process.
 */
export const CHILD_ENTRY = `
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
// The model load's phases, as the runtime measures them (layers/runtime/models.ts), summed by name.
const phases = {};
for (const m of performance.getEntriesByType('measure')) {
  if (m.name.startsWith('hf-serve:')) phases[m.name.slice(9)] = (phases[m.name.slice(9)] ?? 0) + m.duration;
}
// COLD_FIRST_ONLY=1 (bench/request-path/cold.ts): a profile of the cold start ends at its first answer.
const firstOnly = process.env.COLD_FIRST_ONLY === '1';
const warm = [];
for (const e of firstOnly ? [] : events.warm) warm.push(await invoke(e));
const batch = [];
for (const e of firstOnly ? [] : events.batch) batch.push(await invoke(e));
// Peak resident set of the process (KB on Linux), against the function's configured memory.
const maxRssMb = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ bench: true, importedMs, firstInvokeMs: first.ms, firstAnswerMs, phases, warm, batch, maxRssMb }));
process.exit(0);
`;

export interface ChildLine {
  importedMs: number;
  firstInvokeMs: number;
  firstAnswerMs: number;
  /** Model fetch, verify and session-create durations of the first invocation, ms (`hf-serve:` measures). */
  phases: Record<string, number>;
  warm: Array<{ ms: number; tokens?: number }>;
  batch: Array<{ ms: number; tokens?: number }>;
  maxRssMb: number;
}

export const eventFor = (p: string, body: unknown) =>
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

/** A function process's environment for the benchmarks: the registry, the cache folder (EFS), dynalite, and `extra`. */
export const functionEnv = (
  c: Capability,
  where: { registry: string; cache: string; dynamo: string },
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NODE_ENV: 'production',
  AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
  MODELS_DIR: where.registry,
  MODEL_CACHE_DIR: where.cache,
  DYNAMODB_ENDPOINT: where.dynamo,
  ...extra,
  ...c.env,
});

/**
 * Runs one child; `wallMs` is spawn to its first answer (process creation, init, model load,
 * inference), as a caller waits for it. No `--enable-source-maps`: the inference functions run
 * without it in Lambda (infra/lib/constructs/inference-function.ts).
 */
export const runCold = async (
  child: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ChildLine & { wallMs: number }> => {
  const { wallMs, line } = await runChild(process.execPath, [child, ...args], {
    env,
    until: 'FIRST_ANSWER',
  });
  return { ...(line as unknown as ChildLine), wallMs };
};

export const registryFor = async (c: Capability): Promise<string> => {
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
