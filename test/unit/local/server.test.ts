import { afterEach, describe, expect, it, vi } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import { BENCH_NOOP, BENCH_NOOP_ROUTE } from '#local/bench-noop.ts';
import { defaultLoadHandler, startLocalApi } from '#local/server.ts';
import { EMULATOR_OPTIONS } from '../../helpers/local-api.ts';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  vi.restoreAllMocks();
});

describe('the emulator when the integration fails', () => {
  it('answers 502 with a request id that is in x-request-id, the body and the error log line', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    const api = await startLocalApi({
      ...EMULATOR_OPTIONS,
      timeoutMs: 5_000,
      loadHandler: async () => {
        throw new Error('the function would not load');
      },
    });
    close = api.close;

    const res = await fetch(`${api.url}/v1/detect`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'content-type': 'application/json' },
      body: '{"text":"hello"}',
    });
    const body = (await res.json()) as { error: { code: string; requestId: string } };

    expect(res.status).toBe(502);
    expect(body.error.code).toBe('bad_gateway');
    expect(res.headers.get('x-request-id')).toBe(body.error.requestId);
    expect(lines.some((l) => l.includes(body.error.requestId))).toBe(true);
  });
});

describe("the bench's no-op route", () => {
  const start = async (benchNoop: boolean, invoked: string[] = []) => {
    const api = await startLocalApi({
      ...EMULATOR_OPTIONS,
      timeoutMs: 5_000,
      benchNoop,
      loadHandler: async (fn) => {
        invoked.push(fn);
        return defaultLoadHandler(fn);
      },
    });
    close = api.close;
    return api.url;
  };
  const noop = (url: string, key = 'k') =>
    fetch(`${url}/bench/noop`, { method: 'POST', headers: { 'x-api-key': key }, body: '{}' });

  it('is answered 200 {} by a function the emulator invokes, when enabled', async () => {
    const invoked: string[] = [];
    const url = await start(true, invoked);

    const res = await noop(url);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect(invoked).toEqual([BENCH_NOOP]);
  });

  it('is keyed at the gateway like the capabilities it is the baseline of', async () => {
    const url = await start(true);

    const res = await fetch(`${url}/bench/noop`, { method: 'POST', body: '{}' });

    expect(res.status).toBe(401);
  });

  it('does not exist otherwise: 404, nothing invoked', async () => {
    const invoked: string[] = [];
    const url = await start(false, invoked);

    const res = await noop(url);

    expect(res.status).toBe(404);
    expect(invoked).toEqual([]);
  });

  it('is in neither the route table the CDK stack is built from nor the routes npm start serves', () => {
    expect(ROUTES.some((r) => r.path === BENCH_NOOP_ROUTE.path)).toBe(false);
  });
});
