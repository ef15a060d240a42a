import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RouteDef } from '#functions/routes.ts';
import { httpApi } from '#http/api.ts';
import { json } from '#http/response.ts';
import type { ApiResult } from '#http/types.ts';
import { type LocalFunction, startLocalApi } from '#local/server.ts';
import { logger } from '#observability/index.ts';
import { EMULATOR_OPTIONS } from '../../helpers/local-api.ts';
import { captureLogLines } from '../../helpers/log-lines.ts';

/**
 * Logs you can follow in one-process mode (issue 23.7): the functions share the process and
 * its one Powertools logger, so each invocation needs its own logger context; otherwise a
 * line names whichever function last set it. Two functions' invocations interleave here,
 * each logging before and after the other has started.
 */
vi.hoisted(() => {
  // The tests run with LOG_LEVEL=SILENT (vitest.config.ts); the logger is made at import with this one.
  process.env.LOG_LEVEL = 'INFO';
});

const ROUTES: RouteDef[] = [
  { method: 'POST', path: '/v1/predict', fn: 'predict', apiKeyRequired: false },
  { method: 'POST', path: '/v1/detect', fn: 'detect', apiKeyRequired: false },
];
/** Long enough that both invocations are inside their handlers at once. */
const OVERLAP_MS = 150;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

/** The emulator in one process, each of ROUTES' functions a Middy handler of one route running `work`. */
const startWith = async (work: (fn: LocalFunction) => Promise<ApiResult>): Promise<string> => {
  const api = await startLocalApi({
    ...EMULATOR_OPTIONS,
    timeoutMs: 10_000,
    routes: ROUTES,
    loadHandler: async (fn) =>
      httpApi([{ method: 'POST', path: ROUTES.find((r) => r.fn === fn)!.path, handler: () => work(fn) }]),
  });
  close = api.close;
  return api.url;
};
/** Both functions at once. */
const invokeBoth = (url: string) =>
  Promise.all(
    ['/v1/predict', '/v1/detect'].map((path) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
    ),
  );

describe('two functions invoked concurrently in one process', () => {
  it('log lines that each name their own function and request id', async () => {
    const logs = captureLogLines('invocation step');
    try {
      const url = await startWith(async (fn) => {
        logger.info('invocation step', { step: 'before', fn });
        await sleep(OVERLAP_MS);
        logger.info('invocation step', { step: 'after', fn });
        return json({ fn });
      });

      const [a, b] = await invokeBoth(url);

      expect([a!.status, b!.status]).toEqual([200, 200]);
      const ids = { predict: a!.headers.get('x-request-id'), detect: b!.headers.get('x-request-id') };
      expect(ids.predict).not.toBe(ids.detect);
      expect(logs.lines).toHaveLength(4);
      for (const line of logs.lines) {
        const fn = line.fn as 'predict' | 'detect';
        expect(line.function_name).toBe(`local-${fn}`);
        expect(line.correlation_id).toBe(ids[fn]);
      }
      // The lines did interleave: both "before" lines came before either "after" line.
      expect(logs.lines.map((l) => l.step)).toEqual(['before', 'before', 'after', 'after']);
    } finally {
      logs.restore();
    }
  });

  it("a 5xx whose x-request-id is the error line's correlation id, under the failing function", async () => {
    const logs = captureLogLines('request failed');
    try {
      const url = await startWith(async (fn) => {
        await sleep(fn === 'predict' ? OVERLAP_MS : 0);
        if (fn === 'predict') throw new Error('the model broke');
        return json({ fn });
      });

      const [failed, ok] = await invokeBoth(url);
      const body = (await failed!.json()) as { error: { requestId: string } };

      expect([failed!.status, ok!.status]).toEqual([500, 200]);
      expect(failed!.headers.get('x-request-id')).toBe(body.error.requestId);
      expect(logs.lines).toHaveLength(1);
      expect(logs.lines[0]!.correlation_id).toBe(body.error.requestId);
      expect(logs.lines[0]!.function_name).toBe('local-predict');
    } finally {
      logs.restore();
    }
  });
});
