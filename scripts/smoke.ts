import { parseArgs } from 'node:util';

/**
 * `npm run smoke -- --url <api url> --key <api key> [--tiny-key <key on a tiny plan>]`: the
 * post-deploy check. One request per capability (health, status, predict, detect,
 * translate, one streamed chat completion), a keyed route without a key (401), and, with a
 * key on a tiny usage plan, requests until its throttle answers 429. Prints a pass/fail
 * table and exits 1 when any check fails. Works against `npm start` as against a stage.
 */

export interface SmokeOptions {
  /** The API's base URL (the `ApiUrl` output, or http://127.0.0.1:3000). */
  url: string;
  key: string;
  /** A key whose usage plan allows about one request a second: the 429 check runs only with it. */
  tinyKey?: string;
  completionsModel: string;
  targetLanguage: string;
  /** Per request; a stage's first requests include cold starts and model loads. */
  timeoutMs: number;
}

export interface SmokeResult {
  check: string;
  ok: boolean | 'skipped';
  detail: string;
  ms: number;
}

/** Requests the 429 check sends at most before it gives up. */
const MAX_THROTTLE_REQUESTS = 30;

type Check = { name: string; run: () => Promise<string> };

const expectOk = (cond: unknown, detail: string): void => {
  if (!cond) throw new Error(detail);
};

/**
 * Runs every check, in order, and returns one result each.
 *
 * @example
 * const results = await runSmoke({ url: 'http://127.0.0.1:3000', key: 'local-dev-key', completionsModel: 'tiny-gpt2', targetLanguage: 'fra_Latn', timeoutMs: 60_000 });
 * results.every((r) => r.ok !== false); // => true when the API works
 */
export const runSmoke = async (o: SmokeOptions): Promise<SmokeResult[]> => {
  const base = o.url.replace(/\/+$/, '');
  const call = (path: string, init: { method?: string; key?: string | null; body?: unknown } = {}) =>
    fetch(`${base}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.key === null ? {} : { 'x-api-key': init.key ?? o.key }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  const json = async (res: Response, status = 200) => {
    const text = await res.text();
    expectOk(res.status === status, `HTTP ${res.status} (expected ${status}): ${text.slice(0, 200)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };

  const checks: Check[] = [
    {
      name: 'GET /health',
      run: async () => {
        const body = await json(await call('/health', { key: null }));
        expectOk(body.status === 'ok', `status ${JSON.stringify(body.status)}`);
        return 'ok, no key';
      },
    },
    {
      name: 'GET /v1/status',
      run: async () => {
        const body = await json(await call('/v1/status'));
        return `${(body.models as unknown[] | undefined)?.length ?? 0} models loaded`;
      },
    },
    {
      name: 'POST /v1/predict',
      run: async () => {
        const body = await json(
          await call('/v1/predict', { body: { text: 'I love this product, it works perfectly!' } }),
        );
        expectOk(typeof body.label === 'string', 'no label');
        return `${body.label} ${Number(body.score).toFixed(3)}`;
      },
    },
    {
      name: 'POST /v1/detect',
      run: async () => {
        const body = await json(
          await call('/v1/detect', { body: { text: 'Bonjour tout le monde, comment allez-vous ?' } }),
        );
        expectOk(typeof body.language === 'string', 'no language');
        return `${body.language} ${Number(body.confidence).toFixed(3)}`;
      },
    },
    {
      name: 'POST /v1/translate',
      run: async () => {
        const body = await json(
          await call('/v1/translate', { body: { text: 'Hello, how are you?', target_language: o.targetLanguage } }),
        );
        const [first] = (body.translations as { text: string }[] | undefined) ?? [];
        expectOk(typeof first?.text === 'string', 'no translation');
        return `${JSON.stringify(first?.text.slice(0, 40))}`;
      },
    },
    {
      name: 'POST /v1/chat/completions (stream)',
      run: async () => {
        const res = await call('/v1/chat/completions', {
          body: {
            model: o.completionsModel,
            stream: true,
            max_tokens: 8,
            messages: [{ role: 'user', content: 'Hello' }],
          },
        });
        const text = await res.text();
        expectOk(res.status === 200, `HTTP ${res.status}: ${text.slice(0, 200)}`);
        expectOk(
          /^text\/event-stream/.test(res.headers.get('content-type') ?? ''),
          `content-type ${res.headers.get('content-type')}`,
        );
        const events = text.split('\n\n').filter(Boolean);
        expectOk(events.at(-1) === 'data: [DONE]', `last event ${JSON.stringify(events.at(-1))}`);
        expectOk(!text.includes('"error"'), `error event: ${text.slice(0, 200)}`);
        return `${events.length} events`;
      },
    },
    {
      name: 'POST /v1/predict without a key',
      run: async () => {
        const body = await json(await call('/v1/predict', { key: null, body: { text: 'hi' } }), 401);
        expectOk((body.error as { code?: string } | undefined)?.code, 'no error envelope');
        return '401 in the error envelope';
      },
    },
  ];
  if (o.tinyKey) {
    const tinyKey = o.tinyKey;
    checks.push({
      name: 'GET /v1/status past a tiny plan',
      run: async () => {
        for (let n = 1; n <= MAX_THROTTLE_REQUESTS; n++) {
          const res = await call('/v1/status', { key: tinyKey });
          const text = await res.text();
          if (res.status === 429) {
            expectOk(JSON.parse(text).error, 'no error envelope');
            return `429 after ${n} requests`;
          }
          expectOk(res.status === 200, `HTTP ${res.status}: ${text.slice(0, 200)}`);
        }
        throw new Error(`no 429 in ${MAX_THROTTLE_REQUESTS} requests`);
      },
    });
  }

  const results: SmokeResult[] = [];
  for (const check of checks) {
    const started = performance.now();
    try {
      const detail = await check.run();
      results.push({ check: check.name, ok: true, detail, ms: Math.round(performance.now() - started) });
    } catch (error) {
      results.push({
        check: check.name,
        ok: false,
        detail: (error as Error).message,
        ms: Math.round(performance.now() - started),
      });
    }
  }
  if (!o.tinyKey) {
    results.push({ check: '429 past a tiny plan', ok: 'skipped', detail: 'no --tiny-key given', ms: 0 });
  }
  return results;
};

/** The results as a fixed-width table. */
export const smokeTable = (results: readonly SmokeResult[]): string => {
  const rows = results.map((r) => [
    r.ok === 'skipped' ? 'SKIP' : r.ok ? 'PASS' : 'FAIL',
    r.check,
    `${r.ms} ms`,
    r.detail,
  ]);
  const widths = [4, Math.max(...rows.map((r) => r[1]?.length ?? 0)), Math.max(...rows.map((r) => r[2]?.length ?? 0))];
  return rows
    .map(
      (r) =>
        `${r[0]?.padEnd(widths[0] ?? 0)}  ${r[1]?.padEnd(widths[1] ?? 0)}  ${r[2]?.padStart(widths[2] ?? 0)}  ${r[3]}`,
    )
    .join('\n');
};

const main = async () => {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      'tiny-key': { type: 'string' },
      'completions-model': { type: 'string', default: 'tiny-gpt2' },
      'target-language': { type: 'string', default: 'fra_Latn' },
      'timeout-ms': { type: 'string', default: '60000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.url || !values.key) {
    console.log(
      'usage: npm run smoke -- --url <api url> --key <api key> [--tiny-key <key on a tiny plan>] [--completions-model tiny-gpt2] [--target-language fra_Latn] [--timeout-ms 60000]',
    );
    process.exit(values.help ? 0 : 2);
  }
  const results = await runSmoke({
    url: values.url,
    key: values.key,
    tinyKey: values['tiny-key'],
    completionsModel: values['completions-model'],
    targetLanguage: values['target-language'],
    timeoutMs: Number(values['timeout-ms']),
  });
  console.log(smokeTable(results));
  const failed = results.filter((r) => r.ok === false).length;
  console.log(failed ? `\n${failed} of ${results.length} checks failed` : `\nall ${results.length} checks passed`);
  process.exit(failed ? 1 : 0);
};

await main();
